package filter

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

func ids(eps []framework.Endpoint) []string {
	out := make([]string, len(eps))
	for i, e := range eps {
		if md := e.GetMetadata(); md != nil {
			out[i] = md.ID
		}
	}
	return out
}

func queues(qs ...int) []framework.Endpoint {
	eps := make([]framework.Endpoint, len(qs))
	for i, q := range qs {
		eps[i] = testfleet.Endpoint(fmt.Sprint(i), framework.Metrics{WaitingQueueSize: q})
	}
	return eps
}

func TestLowQueue(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		eps       []framework.Endpoint
		want      []string
	}{
		{"keeps low, in order", 2, queues(5, 0, 3, 2, 1), []string{"1", "3", "4"}},
		{"threshold inclusive", 3, queues(3, 4), []string{"0"}},
		{"all pass", 10, queues(1, 2), []string{"0", "1"}},
		{"none pass keeps all", 0, queues(5, 3, 4), []string{"0", "1", "2"}},
		{"no metrics never low", 5, []framework.Endpoint{&testfleet.NilMetrics{SimpleEndpoint: framework.SimpleEndpoint{Metadata: framework.EndpointMetadata{ID: "x"}}}, testfleet.Endpoint("y", framework.Metrics{})}, []string{"y"}},
		{"empty", 5, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewLowQueue("", tt.threshold).Filter(context.Background(), &framework.InferenceRequest{}, tt.eps)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("kept %v, want %v", ids(got), tt.want)
			}
		})
	}
}

func TestModelServing(t *testing.T) {
	eps := func() []framework.Endpoint {
		return []framework.Endpoint{
			testfleet.Endpoint("active", framework.Metrics{ActiveModels: map[string]int{"a": 1}, MaxActiveModels: 1}),
			testfleet.Endpoint("waiting", framework.Metrics{ActiveModels: map[string]int{"b": 1}, WaitingModels: map[string]int{"a": 1}, MaxActiveModels: 1}),
			testfleet.Endpoint("room", framework.Metrics{ActiveModels: map[string]int{"b": 1}, MaxActiveModels: 2}),
			testfleet.Endpoint("full", framework.Metrics{ActiveModels: map[string]int{"b": 1, "c": 1}, MaxActiveModels: 2}),
			testfleet.Endpoint("no-slots", framework.Metrics{}),
			&testfleet.NilMetrics{SimpleEndpoint: framework.SimpleEndpoint{Metadata: framework.EndpointMetadata{ID: "unknown"}}},
		}
	}
	tests := []struct {
		name string
		req  framework.InferenceRequest
		eps  []framework.Endpoint
		want []string
	}{
		{"adapter", framework.InferenceRequest{TargetModel: "base", LoRAAdapter: "a"}, eps(), []string{"active", "waiting", "room"}},
		{"target model as adapter", framework.InferenceRequest{TargetModel: "b"}, eps(), []string{"waiting", "room", "full"}},
		{"no model keeps all", framework.InferenceRequest{}, eps(), []string{"active", "waiting", "room", "full", "no-slots", "unknown"}},
		{"none can serve", framework.InferenceRequest{TargetModel: "z"}, eps()[3:5], []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewModelServing("").Filter(context.Background(), &tt.req, tt.eps)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("kept %v, want %v", ids(got), tt.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		f    framework.Filter
		want framework.TypedName
	}{
		{NewLowQueue("", 1), framework.TypedName{Type: LowQueueType, Name: LowQueueType}},
		{NewLowQueue("lq", 1), framework.TypedName{Type: LowQueueType, Name: "lq"}},
		{NewModelServing(""), framework.TypedName{Type: ModelServingType, Name: ModelServingType}},
		{NewModelServing("ms"), framework.TypedName{Type: ModelServingType, Name: "ms"}},
	} {
		if got := tt.f.TypedName(); got != tt.want {
			t.Errorf("TypedName = %+v, want %+v", got, tt.want)
		}
	}
}

// TestFiltersDoNotAllocate: filtering is in place.
func TestFiltersDoNotAllocate(t *testing.T) {
	orig := queues(0, 9, 1, 9, 2, 9, 3)
	for i := range orig {
		orig[i].GetMetrics().ActiveModels = map[string]int{"a": i % 2}
	}
	req := &framework.InferenceRequest{TargetModel: "a"}
	work := make([]framework.Endpoint, len(orig))
	ctx := context.Background()
	for _, f := range []framework.Filter{NewLowQueue("", 2), NewModelServing("")} {
		a := testing.AllocsPerRun(100, func() {
			copy(work, orig)
			f.Filter(ctx, req, work)
		})
		if a != 0 {
			t.Errorf("%s: %v allocs per Filter, want 0", f.TypedName(), a)
		}
	}
}
