package scorer

import (
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

func TestLoRAAffinity(t *testing.T) {
	tests := []struct {
		name string
		m    framework.Metrics
		want float64
	}{
		{"active", framework.Metrics{ActiveModels: map[string]int{"a": 1, "b": 1}, MaxActiveModels: 2}, 1},
		{"active beats waiting", framework.Metrics{ActiveModels: map[string]int{"a": 1}, WaitingModels: map[string]int{"a": 1}}, 1},
		{"room to load", framework.Metrics{ActiveModels: map[string]int{"b": 1}, MaxActiveModels: 2}, 0.8},
		{"room beats waiting", framework.Metrics{WaitingModels: map[string]int{"a": 1}, MaxActiveModels: 2}, 0.8},
		{"waiting adapters take the room", framework.Metrics{ActiveModels: map[string]int{"b": 1}, WaitingModels: map[string]int{"c": 1}, MaxActiveModels: 2}, 0},
		{"own waiting adapter takes the room", framework.Metrics{WaitingModels: map[string]int{"a": 1}, MaxActiveModels: 1}, 0.6},
		{"waiting, full", framework.Metrics{ActiveModels: map[string]int{"b": 1}, WaitingModels: map[string]int{"a": 2}, MaxActiveModels: 1}, 0.6},
		{"full", framework.Metrics{ActiveModels: map[string]int{"b": 1, "c": 1}, MaxActiveModels: 2}, 0},
		{"no adapter slots", framework.Metrics{}, 0},
	}
	req := &framework.InferenceRequest{TargetModel: "base", LoRAAdapter: "a"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameScores(t, score(NewLoRAAffinity(""), req, []framework.Endpoint{testfleet.Endpoint("ns/p", tt.m)}), []float64{tt.want})
		})
	}
}

// TestLoRAAffinityAdapter checks that the target model stands in for the
// adapter when none is set, and that a request without a model is scored
// all the same, by the room check, as upstream.
func TestLoRAAffinityAdapter(t *testing.T) {
	eps := []framework.Endpoint{
		testfleet.Endpoint("ns/a", framework.Metrics{ActiveModels: map[string]int{"m": 1}}),
		&testfleet.NilMetrics{},
		testfleet.Endpoint("ns/b", framework.Metrics{}),
		testfleet.Endpoint("ns/c", framework.Metrics{MaxActiveModels: 1}),
	}
	sameScores(t, score(NewLoRAAffinity(""), &framework.InferenceRequest{TargetModel: "m"}, eps), []float64{1, nan, 0, 0.8})
	sameScores(t, score(NewLoRAAffinity(""), &framework.InferenceRequest{}, eps), []float64{0, nan, 0, 0.8})
}

func TestLoRAAffinityAllocs(t *testing.T) {
	req := &framework.InferenceRequest{TargetModel: "m"}
	if a := allocsPerScore(NewLoRAAffinity(""), req, testfleet.Upstream(100, "m")); a != 0 {
		t.Errorf("allocs per Score = %v, want 0", a)
	}
}
