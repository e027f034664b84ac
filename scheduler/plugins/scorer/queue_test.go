package scorer

import (
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

func TestMinMaxScorers(t *testing.T) {
	tests := []struct {
		name   string
		values []int
		want   []float64
	}{
		{"formula", []int{0, 2, 4, 8}, []float64{1, 0.75, 0.5, 0}},
		{"offset range", []int{10, 12, 14}, []float64{1, 0.5, 0}},
		{"all equal", []int{3, 3, 3}, []float64{1, 1, 1}},
		{"single", []int{7}, []float64{1}},
		{"empty", nil, []float64{}},
	}
	scorers := []struct {
		new func() framework.Scorer
		set func(*framework.Metrics, int)
	}{
		{func() framework.Scorer { return NewQueue("") }, func(m *framework.Metrics, v int) { m.WaitingQueueSize = v }},
		{func() framework.Scorer { return NewRunningRequests("") }, func(m *framework.Metrics, v int) { m.RunningRequestsSize = v }},
	}
	for _, sc := range scorers {
		s := sc.new()
		for _, tt := range tests {
			t.Run(s.TypedName().Type+"/"+tt.name, func(t *testing.T) {
				eps := make([]framework.Endpoint, len(tt.values))
				for i, v := range tt.values {
					var m framework.Metrics
					sc.set(&m, v)
					eps[i] = testfleet.Endpoint("ns/p", m)
				}
				sameScores(t, score(s, &framework.InferenceRequest{}, eps), tt.want)
			})
		}
	}
}

// TestMinMaxReadsItsOwnMetric gives the two metrics opposite orders.
func TestMinMaxReadsItsOwnMetric(t *testing.T) {
	eps := []framework.Endpoint{
		testfleet.Endpoint("ns/a", framework.Metrics{WaitingQueueSize: 0, RunningRequestsSize: 10}),
		testfleet.Endpoint("ns/b", framework.Metrics{WaitingQueueSize: 10, RunningRequestsSize: 0}),
	}
	sameScores(t, score(NewQueue(""), &framework.InferenceRequest{}, eps), []float64{1, 0})
	sameScores(t, score(NewRunningRequests(""), &framework.InferenceRequest{}, eps), []float64{0, 1})
}

// TestMinMaxNoMetrics: an endpoint without metrics is unscored and does not
// stretch the range.
func TestMinMaxNoMetrics(t *testing.T) {
	eps := []framework.Endpoint{
		testfleet.Endpoint("ns/a", framework.Metrics{WaitingQueueSize: 4}),
		&testfleet.NilMetrics{},
		testfleet.Endpoint("ns/b", framework.Metrics{WaitingQueueSize: 6}),
	}
	sameScores(t, score(NewQueue(""), &framework.InferenceRequest{}, eps), []float64{1, nan, 0})
	sameScores(t, score(NewQueue(""), &framework.InferenceRequest{}, []framework.Endpoint{&testfleet.NilMetrics{}}), []float64{nan})
}

func TestMinMaxAllocs(t *testing.T) {
	for _, s := range []framework.Scorer{NewQueue(""), NewRunningRequests("")} {
		if a := allocsPerScore(s, &framework.InferenceRequest{}, testfleet.Upstream(100, "m")); a != 0 {
			t.Errorf("%s: allocs per Score = %v, want 0", s.TypedName(), a)
		}
	}
}
