package scorer

import (
	"context"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// LoRAAffinityType is the upstream type of the LoRA affinity scorer.
const LoRAAffinityType = "lora-affinity-scorer"

// LoRA affinity scores, best first, as upstream.
const (
	loraActive  = 1.0 // adapter loaded: no load latency
	loraRoom    = 0.8 // a free adapter slot: one load
	loraWaiting = 0.6 // requests already wait for it: it is about to load
)

// LoRAAffinity prefers endpoints that already serve the request's adapter
// (req.Adapter()): 1.0 when it is in ActiveModels, 0.8 when the endpoint has
// room to load it (adapters active plus adapters waiting below
// MaxActiveModels, as upstream counts them), 0.6 when it is in
// WaitingModels, else 0. The checks run in that order, so an adapter both
// waiting and with room scores 0.8.
type LoRAAffinity struct {
	name framework.TypedName
}

var _ framework.Scorer = (*LoRAAffinity)(nil)

// NewLoRAAffinity returns a LoRA affinity scorer named name (the type when
// empty).
func NewLoRAAffinity(name string) *LoRAAffinity {
	return &LoRAAffinity{name: framework.NewTypedName(LoRAAffinityType, name)}
}

// TypedName implements framework.Plugin.
func (s *LoRAAffinity) TypedName() framework.TypedName { return s.name }

// Category implements framework.Scorer.
func (s *LoRAAffinity) Category() framework.ScorerCategory { return framework.Affinity }

// Score implements framework.Scorer. Every endpoint with metrics is
// scored, as upstream scores them, also for a request that names no model
// or adapter (no endpoint has it active or waiting: the room check
// decides). Endpoints without metrics stay unscored.
func (s *LoRAAffinity) Score(_ context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	adapter := req.Adapter()
	for i, ep := range endpoints {
		m := ep.GetMetrics()
		if m == nil {
			continue
		}
		scores[i] = loraScore(m, adapter)
	}
}

func loraScore(m *framework.Metrics, adapter string) float64 {
	if _, ok := m.ActiveModels[adapter]; ok {
		return loraActive
	}
	if len(m.ActiveModels)+len(m.WaitingModels) < m.MaxActiveModels {
		return loraRoom
	}
	if _, ok := m.WaitingModels[adapter]; ok {
		return loraWaiting
	}
	return 0
}
