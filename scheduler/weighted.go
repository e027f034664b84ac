package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/instrument"
)

// WeightedScorer is a scorer with its weight in a profile's chain: each
// endpoint's score is clamped to [0,1], multiplied by the weight and added
// to the endpoint's total. Its span name and static span attributes are
// built once, so the traced path builds no string per request.
//
// The span's score.max and score.avg are those of the raw scores the
// scorer wrote, as upstream's: before clamping and weighting; endpoints
// left at framework.NoScore count in neither nor in endpoints_scored.
type WeightedScorer struct {
	scorer framework.Scorer
	weight float64
	name   framework.TypedName
	// span is the scorer's span identity: its name and its type, name and
	// weight attributes.
	span *instrument.Scorer
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
		scorer: s,
		weight: weight,
		name:   tn,
		span:   instrument.NewScorer(tn.Type, tn.Name, weight),
	}, nil
}

// Scorer returns the weighted scorer.
func (w *WeightedScorer) Scorer() framework.Scorer { return w.scorer }

// Weight returns the scorer's weight.
func (w *WeightedScorer) Weight() float64 { return w.weight }

// TypedName returns the scorer's identity, as read at construction.
func (w *WeightedScorer) TypedName() framework.TypedName { return w.name }

// SpanName returns the name of the scorer's child span.
func (w *WeightedScorer) SpanName() string { return w.span.SpanName() }

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

func (w *WeightedScorer) run(ctx context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	for i := range scores {
		scores[i] = framework.NoScore
	}
	w.scorer.Score(ctx, req, endpoints, scores)
}
