// Package testfleet builds the endpoints that the scheduler's tests and
// benchmarks share, so that every package measures and checks against the
// same fleet.
package testfleet

import (
	"fmt"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// Upstream returns n endpoints shaped like upstream's scheduler benchmark:
// endpoint i has queue i%8, KV-cache usage (i%10)/10, i%5 running requests,
// room for 4 adapters, and model loaded when i%3 == 0.
//
// Every endpoint carries each kind of identity a leak check looks for (pod
// name, namespaced name, pod IP and port), all distinct across the fleet.
func Upstream(n int, model string) []framework.Endpoint {
	eps := make([]framework.Endpoint, n)
	for i := range eps {
		ep := &framework.SimpleEndpoint{
			Metadata: framework.EndpointMetadata{
				ID:      fmt.Sprintf("inference/vllm-%d-7c9f8d", i),
				Name:    fmt.Sprintf("vllm-%d-7c9f8d", i),
				Address: fmt.Sprintf("10.12.%d.%d", i/250, i%250+1),
				Port:    8000,
			},
			Metrics: framework.Metrics{
				WaitingQueueSize:    i % 8,
				RunningRequestsSize: i % 5,
				KVCacheUsagePercent: float64(i%10) / 10,
				ActiveModels:        map[string]int{},
				MaxActiveModels:     4,
			},
		}
		if i%3 == 0 {
			ep.Metrics.ActiveModels[model] = 1
		}
		eps[i] = ep
	}
	return eps
}

// NilMetrics is an endpoint whose metrics are not known yet.
type NilMetrics struct{ framework.SimpleEndpoint }

// GetMetrics implements framework.Endpoint: no snapshot.
func (*NilMetrics) GetMetrics() *framework.Metrics { return nil }

// NilMetadata is an endpoint without identity.
type NilMetadata struct{ framework.SimpleEndpoint }

// GetMetadata implements framework.Endpoint: no identity.
func (*NilMetadata) GetMetadata() *framework.EndpointMetadata { return nil }

// Endpoint returns an endpoint whose namespaced name and pod name are both
// id, with the given metrics.
func Endpoint(id string, m framework.Metrics) framework.Endpoint {
	return &framework.SimpleEndpoint{Metadata: framework.EndpointMetadata{ID: id, Name: id}, Metrics: m}
}
