package scorer

import (
	"math"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

func TestKVCacheUtilization(t *testing.T) {
	tests := []struct {
		name  string
		usage []float64
		want  []float64
	}{
		{"formula", []float64{0, 0.25, 0.5, 1}, []float64{1, 0.75, 0.5, 0}},
		{"clamped", []float64{-0.5, 1.5}, []float64{1, 0}},
		{"nan usage is no score", []float64{math.NaN(), 0.5}, []float64{nan, 0.5}},
		{"empty", nil, []float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps := make([]framework.Endpoint, len(tt.usage))
			for i, u := range tt.usage {
				eps[i] = testfleet.Endpoint("ns/p", framework.Metrics{KVCacheUsagePercent: u})
			}
			sameScores(t, score(NewKVCacheUtilization(""), &framework.InferenceRequest{}, eps), tt.want)
		})
	}
}

func TestKVCacheUtilizationNoMetrics(t *testing.T) {
	eps := []framework.Endpoint{&testfleet.NilMetrics{}, testfleet.Endpoint("ns/a", framework.Metrics{KVCacheUsagePercent: 0.2})}
	sameScores(t, score(NewKVCacheUtilization(""), &framework.InferenceRequest{}, eps), []float64{nan, 0.8})
}

func TestKVCacheUtilizationAllocs(t *testing.T) {
	if a := allocsPerScore(NewKVCacheUtilization(""), &framework.InferenceRequest{}, testfleet.Upstream(100, "m")); a != 0 {
		t.Errorf("allocs per Score = %v, want 0", a)
	}
}
