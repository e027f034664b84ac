// Package picker holds the scheduler's pickers: they choose the target
// endpoints among the scored candidates of a profile.
//
//	max-score-picker        the best scores; ties broken uniformly at random
//	random-picker           uniformly at random, scores ignored
//	weighted-random-picker  at random in proportion to score (A-Res: key
//	                        U^(1/w), largest keys win); uniformly at random
//	                        when no score is positive
//
// Types and behaviour follow upstream llm-d EPP
// (/work/shared/reference/upstream-epp.md, "Real scorers and pickers").
// Each picker keeps WithMaxEndpoints(n) endpoints (default 1), best first.
// Randomness comes from a PCG generator per picker, seeded by WithSeed for
// reproducible runs; pickers are called concurrently, so each pick that
// needs randomness seeds a generator of its own from it under a mutex, once.
// A pick allocates only its result: one allocation for up to 16 endpoints
// kept.
package picker

import "github.com/scorelens/scorelens/scheduler/framework"

// Option configures a picker.
type Option func(*config)

type config struct {
	maxEndpoints int
	seed         uint64
	seeded       bool
}

func newConfig(opts []Option) config {
	c := config{maxEndpoints: 1}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithMaxEndpoints sets how many endpoints a pick keeps at most; values
// below 1 mean 1.
func WithMaxEndpoints(n int) Option {
	return func(c *config) { c.maxEndpoints = max(n, 1) }
}

// WithSeed makes the picker's random choices reproducible: two pickers with
// the same seed and inputs pick the same. Without it each picker is seeded
// from the runtime's random source.
func WithSeed(seed uint64) Option {
	return func(c *config) { c.seed, c.seeded = seed, true }
}

// Results with their targets inline, so that a pick allocates once for the
// usual few slots.
type (
	result1 struct {
		r  framework.ProfileRunResult
		ep [1]framework.Endpoint
	}
	result4 struct {
		r  framework.ProfileRunResult
		ep [4]framework.Endpoint
	}
	result16 struct {
		r  framework.ProfileRunResult
		ep [16]framework.Endpoint
	}
)

// newResult returns a result whose TargetEndpoints is empty with room for n,
// in one allocation for n <= 16 and two beyond.
func newResult(n int) *framework.ProfileRunResult {
	switch {
	case n <= 1:
		o := &result1{}
		o.r.TargetEndpoints = o.ep[:0]
		return &o.r
	case n <= 4:
		o := &result4{}
		o.r.TargetEndpoints = o.ep[:0]
		return &o.r
	case n <= 16:
		o := &result16{}
		o.r.TargetEndpoints = o.ep[:0]
		return &o.r
	}
	return &framework.ProfileRunResult{TargetEndpoints: make([]framework.Endpoint, 0, n)}
}
