package scheduler_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// fakeScorer writes fn(i, endpoint) for every endpoint and counts calls.
// With internalSpan set it also starts a span of its own from its ctx, the
// way a real scorer instruments itself, on tp when set (a scorer holding
// its own tracer) and otherwise on the provider of the span in ctx.
type fakeScorer struct {
	tn           framework.TypedName
	fn           func(i int, ep framework.Endpoint) float64
	internalSpan string
	tp           trace.TracerProvider
	calls        atomic.Int64
}

func newFakeScorer(typ, name string, fn func(i int, ep framework.Endpoint) float64) *fakeScorer {
	return &fakeScorer{tn: framework.TypedName{Type: typ, Name: name}, fn: fn}
}

func (s *fakeScorer) TypedName() framework.TypedName     { return s.tn }
func (s *fakeScorer) Category() framework.ScorerCategory { return framework.Distribution }

func (s *fakeScorer) Score(ctx context.Context, _ *framework.InferenceRequest, eps []framework.Endpoint, scores []float64) {
	s.calls.Add(1)
	if s.internalSpan != "" {
		tp := s.tp
		if tp == nil {
			tp = trace.SpanFromContext(ctx).TracerProvider()
		}
		_, span := tp.Tracer("fake").Start(ctx, s.internalSpan)
		defer span.End()
	}
	for i, ep := range eps {
		scores[i] = s.fn(i, ep)
	}
}

// prScorer is a fakeScorer that learns from the pick.
type prScorer struct {
	*fakeScorer
	pre atomic.Int64
}

func (s *prScorer) PreRequest(context.Context, *framework.InferenceRequest, *framework.SchedulingResult) {
	s.pre.Add(1)
}

// queueScore scores by queue length, shorter is better.
func queueScore(_ int, ep framework.Endpoint) float64 {
	return 1 - float64(ep.GetMetrics().WaitingQueueSize)/8
}

// kvScore scores by free KV cache.
func kvScore(_ int, ep framework.Endpoint) float64 {
	return 1 - ep.GetMetrics().KVCacheUsagePercent
}

// fakeFilter keeps the endpoints keep accepts, filtering in place as the
// framework allows.
type fakeFilter struct {
	name string
	keep func(ep framework.Endpoint) bool
}

func (f *fakeFilter) TypedName() framework.TypedName {
	return framework.TypedName{Type: "fake-filter", Name: f.name}
}

func (f *fakeFilter) Filter(_ context.Context, _ *framework.InferenceRequest, eps []framework.Endpoint) []framework.Endpoint {
	out := eps[:0]
	for _, ep := range eps {
		if f.keep(ep) {
			out = append(out, ep)
		}
	}
	return out
}

// maxPicker is a deterministic max-score picker: ties go to the lowest
// index. It returns the *ScoredEndpoint itself as target, as upstream's
// pickers do, which Run must detach from its recycled buffer. seen keeps a
// copy of the last scores it was given.
type maxPicker struct {
	seen  []float64
	keep  bool
	calls atomic.Int64
}

func (p *maxPicker) TypedName() framework.TypedName {
	return framework.TypedName{Type: "fake-max-picker", Name: "max"}
}

func (p *maxPicker) Pick(_ context.Context, scored []*framework.ScoredEndpoint) *framework.ProfileRunResult {
	p.calls.Add(1)
	if p.keep {
		p.seen = p.seen[:0]
		for _, s := range scored {
			p.seen = append(p.seen, s.Score)
		}
	}
	best := 0
	for i, s := range scored {
		if s.Score > scored[best].Score {
			best = i
		}
	}
	return &framework.ProfileRunResult{TargetEndpoints: []framework.Endpoint{scored[best]}}
}

// singleHandler runs one profile once.
type singleHandler struct{ profile string }

func (h singleHandler) TypedName() framework.TypedName {
	return framework.TypedName{Type: "fake-single-handler", Name: "single"}
}

func (h singleHandler) Pick(_ context.Context, _ *framework.InferenceRequest, profiles map[string]framework.Profile, results map[string]*framework.ProfileRunResult) map[string]framework.Profile {
	if len(results) > 0 {
		return nil
	}
	return profiles
}

func (h singleHandler) ProcessResults(_ context.Context, _ *framework.InferenceRequest, results map[string]*framework.ProfileRunResult) (*framework.SchedulingResult, error) {
	if results[h.profile] == nil {
		return nil, fmt.Errorf("profile %q failed", h.profile)
	}
	return &framework.SchedulingResult{ProfileResults: results, PrimaryProfileName: h.profile}, nil
}
