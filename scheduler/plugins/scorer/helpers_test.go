package scorer

import (
	"context"
	"math"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// score runs s on fresh NaN-filled scores, as the framework calls it.
func score(s framework.Scorer, req *framework.InferenceRequest, eps []framework.Endpoint) []float64 {
	scores := make([]float64, len(eps))
	for i := range scores {
		scores[i] = framework.NoScore
	}
	s.Score(context.Background(), req, eps, scores)
	return scores
}

// sameScores compares exactly, NaN equal to NaN.
func sameScores(t *testing.T, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d scores, want %d", len(got), len(want))
	}
	for i := range got {
		if math.IsNaN(got[i]) && math.IsNaN(want[i]) {
			continue
		}
		if got[i] != want[i] {
			t.Errorf("scores = %v, want %v", got, want)
			return
		}
	}
}

// allocsPerScore measures one Score call on a reused score slice.
func allocsPerScore(s framework.Scorer, req *framework.InferenceRequest, eps []framework.Endpoint) float64 {
	scores := make([]float64, len(eps))
	ctx := context.Background()
	return testing.AllocsPerRun(100, func() {
		for i := range scores {
			scores[i] = framework.NoScore
		}
		s.Score(ctx, req, eps, scores)
	})
}

var nan = math.NaN()
