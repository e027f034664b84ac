package scorer

import (
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

func TestLoadAware(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		queues    []int
		want      []float64
	}{
		{"default threshold", 0, []int{0, 32, 64, 128, 500}, []float64{0.5, 0.375, 0.25, 0, 0}},
		{"negative threshold is default", -1, []int{64}, []float64{0.25}},
		{"custom threshold", 10, []int{0, 1, 5, 10, 11}, []float64{0.5, 0.45, 0.25, 0, 0}},
		{"negative queue counts as empty", 10, []int{-3}, []float64{0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps := make([]framework.Endpoint, len(tt.queues))
			for i, q := range tt.queues {
				eps[i] = testfleet.Endpoint("ns/p", framework.Metrics{WaitingQueueSize: q})
			}
			sameScores(t, score(NewLoadAware("", tt.threshold), &framework.InferenceRequest{}, eps), tt.want)
		})
	}
}

func TestLoadAwareNoMetrics(t *testing.T) {
	eps := []framework.Endpoint{&testfleet.NilMetrics{}, testfleet.Endpoint("ns/a", framework.Metrics{})}
	sameScores(t, score(NewLoadAware("", 0), &framework.InferenceRequest{}, eps), []float64{nan, 0.5})
}

func TestLoadAwareAllocs(t *testing.T) {
	if a := allocsPerScore(NewLoadAware("", 0), &framework.InferenceRequest{}, testfleet.Upstream(100, "m")); a != 0 {
		t.Errorf("allocs per Score = %v, want 0", a)
	}
}
