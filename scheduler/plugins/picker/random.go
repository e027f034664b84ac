package picker

import (
	"context"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// RandomType is the upstream type of the random picker.
const RandomType = "random-picker"

// Random keeps endpoints chosen uniformly at random, ignoring scores: a
// baseline, and a spreader when scores carry no signal. Nil entries are
// skipped.
type Random struct {
	name framework.TypedName
	max  int
	rng  *lockedRand
}

var _ framework.Picker = (*Random)(nil)

// NewRandom returns a random picker named name (the type when empty).
func NewRandom(name string, opts ...Option) *Random {
	c := newConfig(opts)
	return &Random{name: framework.NewTypedName(RandomType, name), max: c.maxEndpoints, rng: newLockedRand(c)}
}

// TypedName implements framework.Plugin.
func (p *Random) TypedName() framework.TypedName { return p.name }

// Pick implements framework.Picker with reservoir sampling: one pass, a
// uniform subset, no scratch space.
func (p *Random) Pick(_ context.Context, scored []*framework.ScoredEndpoint) *framework.ProfileRunResult {
	n := min(p.max, len(scored))
	res := newResult(n)
	out := res.TargetEndpoints
	rng := pickRand{src: p.rng}
	seen := 0
	for _, s := range scored {
		if s == nil {
			continue
		}
		seen++
		if seen <= n {
			out = append(out, s.Endpoint)
		} else if j := rng.intN(seen); j < n {
			out[j] = s.Endpoint
		}
	}
	res.TargetEndpoints = out
	return res
}
