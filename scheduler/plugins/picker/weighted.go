package picker

import (
	"context"
	"math"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// WeightedRandomType is the upstream type of the weighted-random picker.
const WeightedRandomType = "weighted-random-picker"

// WeightedRandom keeps endpoints drawn at random with probability
// proportional to their scores, without replacement (Efraimidis–Spirakis
// A-Res: each endpoint draws U uniform in (0,1] and gets key U^(1/score);
// the largest keys win). Endpoints whose score is not positive (or NaN) rank
// after every positive one and are drawn uniformly among themselves, so when
// no score is positive the pick is uniformly random, as upstream's.
type WeightedRandom struct {
	name framework.TypedName
	max  int
	rng  *lockedRand
}

var _ framework.Picker = (*WeightedRandom)(nil)

// NewWeightedRandom returns a weighted-random picker named name (the type
// when empty).
func NewWeightedRandom(name string, opts ...Option) *WeightedRandom {
	c := newConfig(opts)
	return &WeightedRandom{name: framework.NewTypedName(WeightedRandomType, name), max: c.maxEndpoints, rng: newLockedRand(c)}
}

// TypedName implements framework.Plugin.
func (p *WeightedRandom) TypedName() framework.TypedName { return p.name }

// aresKey orders candidates: positive scores first, then by log(U)/w, the
// logarithm of U^(1/w), which keeps the order and does not underflow for
// small weights.
type aresKey struct {
	positive bool
	key      float64
}

func (a aresKey) greater(b aresKey) bool {
	if a.positive != b.positive {
		return a.positive
	}
	return a.key > b.key
}

// keysOnStack matches the inline results: up to 16 slots, the keys live on
// the stack.
const keysOnStack = 16

// Pick implements framework.Picker: it keeps the n largest keys, best first.
func (p *WeightedRandom) Pick(_ context.Context, scored []*framework.ScoredEndpoint) *framework.ProfileRunResult {
	n := min(p.max, len(scored))
	res := newResult(n)
	if n == 0 {
		return res
	}
	var buf [keysOnStack]aresKey
	keys := buf[:0]
	if n > keysOnStack {
		keys = make([]aresKey, 0, n)
	}
	out := res.TargetEndpoints
	minAt := 0 // index of the smallest kept key once all slots are full

	rng := pickRand{src: p.rng}
	for _, s := range scored {
		if s == nil {
			continue
		}
		u := 1 - rng.float64() // (0,1]: log(u) is finite
		k := aresKey{key: math.Log(u)}
		if s.Score > 0 {
			k = aresKey{positive: true, key: k.key / s.Score}
		}
		if len(out) < n {
			keys, out = append(keys, k), append(out, s.Endpoint)
			if len(out) == n {
				minAt = smallest(keys)
			}
			continue
		}
		if k.greater(keys[minAt]) {
			keys[minAt], out[minAt] = k, s.Endpoint
			minAt = smallest(keys)
		}
	}

	// Best first: insertion sort, the slots are few.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j].greater(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	res.TargetEndpoints = out
	return res
}

func smallest(keys []aresKey) int {
	at := 0
	for i := 1; i < len(keys); i++ {
		if keys[at].greater(keys[i]) {
			at = i
		}
	}
	return at
}
