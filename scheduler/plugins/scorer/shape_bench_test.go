package scorer

import (
	"context"
	"fmt"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

// mapQueue is the queue scorer's formula in upstream's shape: a fresh map
// per call. It exists to price that shape against ours.
type mapQueue struct{}

func (mapQueue) TypedName() framework.TypedName {
	return framework.TypedName{Type: QueueType, Name: QueueType}
}

func (mapQueue) Category() framework.ScorerCategory { return framework.Distribution }

func (mapQueue) Score(_ context.Context, _ *framework.InferenceRequest, endpoints []framework.Endpoint) map[framework.Endpoint]float64 {
	lo, hi := 0, 0
	for i, ep := range endpoints {
		q := ep.GetMetrics().WaitingQueueSize
		if i == 0 || q < lo {
			lo = q
		}
		if i == 0 || q > hi {
			hi = q
		}
	}
	out := make(map[framework.Endpoint]float64, len(endpoints))
	for _, ep := range endpoints {
		if hi == lo {
			out[ep] = 1
			continue
		}
		out[ep] = float64(hi-ep.GetMetrics().WaitingQueueSize) / float64(hi-lo)
	}
	return out
}

// TestMapQueueAgrees keeps the benchmark honest: both shapes compute the
// same scores.
func TestMapQueueAgrees(t *testing.T) {
	eps := testfleet.Upstream(25, "m")
	sameScores(t, score(framework.AdaptMapScorer(mapQueue{}), &framework.InferenceRequest{}, eps), score(NewQueue(""), &framework.InferenceRequest{}, eps))
}

// BenchmarkScorerShape prices the scorer shape alone: the queue formula
// writing into a caller-owned slice, against the same formula returning
// upstream's map through framework.AdaptMapScorer.
func BenchmarkScorerShape(b *testing.B) {
	shapes := []struct {
		name   string
		scorer framework.Scorer
	}{
		{"slice", NewQueue("")},
		{"map", framework.AdaptMapScorer(mapQueue{})},
	}
	for _, sh := range shapes {
		for _, n := range []int{5, 25, 100} {
			b.Run(fmt.Sprintf("shape=%s/endpoints=%d", sh.name, n), func(b *testing.B) {
				eps := testfleet.Upstream(n, "m")
				scores := make([]float64, n)
				req := &framework.InferenceRequest{}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					for i := range scores {
						scores[i] = framework.NoScore
					}
					sh.scorer.Score(ctx, req, eps, scores)
				}
			})
		}
	}
}
