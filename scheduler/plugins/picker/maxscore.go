package picker

import (
	"context"
	"math"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// MaxScoreType is the upstream type of the max-score picker.
const MaxScoreType = "max-score-picker"

// MaxScore keeps the endpoints with the highest scores. Endpoints tied at
// the cut are chosen uniformly at random, so equal endpoints share the load
// instead of the first one in the list taking it all. A NaN score ranks
// below every number; nil entries are skipped.
type MaxScore struct {
	name framework.TypedName
	max  int
	rng  *lockedRand
}

var _ framework.Picker = (*MaxScore)(nil)

// NewMaxScore returns a max-score picker named name (the type when empty).
func NewMaxScore(name string, opts ...Option) *MaxScore {
	c := newConfig(opts)
	return &MaxScore{name: framework.NewTypedName(MaxScoreType, name), max: c.maxEndpoints, rng: newLockedRand(c)}
}

// TypedName implements framework.Plugin.
func (p *MaxScore) TypedName() framework.TypedName { return p.name }

// Pick implements framework.Picker. It fills the result level by level, from
// the highest score down; at each level the tied endpoints compete for the
// remaining slots by reservoir sampling, which is uniform without sorting or
// scratch space. Levels are at most the number of slots, so a pick costs
// O(slots × candidates), one pass pair for the default single slot.
func (p *MaxScore) Pick(_ context.Context, scored []*framework.ScoredEndpoint) *framework.ProfileRunResult {
	n := min(p.max, len(scored))
	res := newResult(n)
	out := res.TargetEndpoints
	rng := pickRand{src: p.rng}
	var level float64
	for first := true; len(out) < n; first = false {
		best, ok := nextLevel(scored, level, first)
		if !ok {
			break
		}
		level = best
		base, slots, seen := len(out), n-len(out), 0
		for _, s := range scored {
			if s == nil || rank(s.Score) != best {
				continue
			}
			seen++
			if seen <= slots {
				out = append(out, s.Endpoint)
			} else if j := rng.intN(seen); j < slots {
				out[base+j] = s.Endpoint
			}
		}
	}
	res.TargetEndpoints = out
	return res
}

// nextLevel returns the highest rank below level (any rank when first).
func nextLevel(scored []*framework.ScoredEndpoint, level float64, first bool) (float64, bool) {
	best, found := 0.0, false
	for _, s := range scored {
		if s == nil {
			continue
		}
		r := rank(s.Score)
		if !first && r >= level {
			continue
		}
		if !found || r > best {
			best, found = r, true
		}
	}
	return best, found
}

// rank orders scores with NaN lowest, so that NaN never ties with itself
// unnoticed (NaN != NaN would make it unpickable).
func rank(score float64) float64 {
	if score != score {
		return math.Inf(-1)
	}
	return score
}
