package scorer

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// nilMetrics is an endpoint whose metrics are not known yet.
type nilMetrics struct{ framework.SimpleEndpoint }

func (*nilMetrics) GetMetrics() *framework.Metrics { return nil }

// nilMetadata is an endpoint that has no identity.
type nilMetadata struct{ framework.SimpleEndpoint }

func (*nilMetadata) GetMetadata() *framework.EndpointMetadata { return nil }

func endpoint(id string, m framework.Metrics) framework.Endpoint {
	return &framework.SimpleEndpoint{Metadata: framework.EndpointMetadata{ID: id, Name: id}, Metrics: m}
}

// fleet returns n endpoints shaped like upstream's benchmark: queue i%8, KV
// usage (i%10)/10, the model "m" active on every third endpoint.
func fleet(n int) []framework.Endpoint {
	eps := make([]framework.Endpoint, n)
	for i := range eps {
		m := framework.Metrics{WaitingQueueSize: i % 8, RunningRequestsSize: i % 5, KVCacheUsagePercent: float64(i%10) / 10, MaxActiveModels: 4}
		if i%3 == 0 {
			m.ActiveModels = map[string]int{"m": 1}
		}
		eps[i] = endpoint(fmt.Sprintf("ns/pod-%d", i), m)
	}
	return eps
}

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
