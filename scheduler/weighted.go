package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math"

	"go.opentelemetry.io/otel/attribute"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// WeightedScorer is a scorer with its weight in a profile's chain: each
// endpoint's score is clamped to [0,1], multiplied by the weight and added
// to the endpoint's total. Its span name and static span attributes are
// built once, so the traced path builds no string per request.
//
// The span's score.max and score.avg are those of the clamped scores (the
// values that entered the weighted sum), before weighting; endpoints left
// at framework.NoScore count in neither nor in endpoints_scored.
type WeightedScorer struct {
	scorer   framework.Scorer
	weight   float64
	name     framework.TypedName
	spanName string
	// static holds the type, name and weight attributes, copied into the
	// child span's attribute buffer per invocation.
	static [3]attribute.KeyValue
}

// NewWeightedScorer weights s in a chain. The weight must be a finite
// number above zero and s must have a type (it names the scorer's span).
func NewWeightedScorer(s framework.Scorer, weight float64) (*WeightedScorer, error) {
	if s == nil {
		return nil, errors.New("weighted scorer: nil scorer")
	}
	tn := s.TypedName()
	if tn.Type == "" {
		return nil, fmt.Errorf("weighted scorer %q: empty plugin type", tn.Name)
	}
	if math.IsNaN(weight) || math.IsInf(weight, 0) || weight <= 0 {
		return nil, fmt.Errorf("weighted scorer %s: weight %v: must be finite and above zero", tn, weight)
	}
	return &WeightedScorer{
		scorer:   s,
		weight:   weight,
		name:     tn,
		spanName: schema.ScorerSpanPrefix + tn.Type,
		static: [3]attribute.KeyValue{
			keyScorerType.String(tn.Type),
			keyScorerName.String(tn.Name),
			keyScorerWeight.Float64(weight),
		},
	}, nil
}

// Scorer returns the weighted scorer.
func (w *WeightedScorer) Scorer() framework.Scorer { return w.scorer }

// Weight returns the scorer's weight.
func (w *WeightedScorer) Weight() float64 { return w.weight }

// TypedName returns the scorer's identity, as read at construction.
func (w *WeightedScorer) TypedName() framework.TypedName { return w.name }

// SpanName returns the name of the scorer's child span.
func (w *WeightedScorer) SpanName() string { return w.spanName }

// scoreStats summarises one invocation for its span. Its values are those
// of the CLAMPED scores, i.e. what entered the weighted sum, not what the
// scorer wrote: a scorer returning 3.0 shows score.max 1.
type scoreStats struct {
	scored   int
	max, sum float64
}

// score runs the scorer over endpoints and adds framework.Clamp01(score)*weight into
// totals. scores is scratch space of len(endpoints).
func (w *WeightedScorer) score(ctx context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores, totals []float64) {
	w.run(ctx, req, endpoints, scores)
	for i, v := range scores {
		if framework.Scored(v) {
			totals[i] += framework.Clamp01(v) * w.weight
		}
	}
}

// scoreTraced is score plus the statistics of its span, kept apart so that
// the untraced path does not compute them.
func (w *WeightedScorer) scoreTraced(ctx context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores, totals []float64) scoreStats {
	w.run(ctx, req, endpoints, scores)
	var st scoreStats
	for i, v := range scores {
		if !framework.Scored(v) {
			continue
		}
		v = framework.Clamp01(v)
		totals[i] += v * w.weight
		st.scored++
		st.sum += v
		st.max = max(st.max, v)
	}
	return st
}

func (w *WeightedScorer) run(ctx context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	for i := range scores {
		scores[i] = framework.NoScore
	}
	w.scorer.Score(ctx, req, endpoints, scores)
}
