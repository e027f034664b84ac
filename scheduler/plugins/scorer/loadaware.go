package scorer

import (
	"context"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// LoadAwareType is the upstream type of the load-aware scorer.
const LoadAwareType = "load-aware-scorer"

// DefaultQueueThreshold is the load-aware scorer's queue length at which an
// endpoint scores 0, upstream's default.
const DefaultQueueThreshold = 128

// LoadAware scores an endpoint by its waiting queue against a fixed
// threshold T rather than against the other candidates: 0.5 when the queue
// is empty, else 0.5*(1-min(q,T)/T). An empty queue and a queue of one are
// thus 0.5 and just under 0.5: the scorer ranks, it does not reward idleness
// beyond that.
type LoadAware struct {
	name      framework.TypedName
	threshold float64
}

var _ framework.Scorer = (*LoadAware)(nil)

// NewLoadAware returns a load-aware scorer named name (the type when empty)
// with queue threshold queueThreshold (DefaultQueueThreshold when <= 0).
func NewLoadAware(name string, queueThreshold int) *LoadAware {
	if queueThreshold <= 0 {
		queueThreshold = DefaultQueueThreshold
	}
	return &LoadAware{name: framework.NewTypedName(LoadAwareType, name), threshold: float64(queueThreshold)}
}

// TypedName implements framework.Plugin.
func (s *LoadAware) TypedName() framework.TypedName { return s.name }

// Category implements framework.Scorer.
func (s *LoadAware) Category() framework.ScorerCategory { return framework.Distribution }

// Score implements framework.Scorer. Endpoints without metrics keep no score.
func (s *LoadAware) Score(_ context.Context, _ *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	for i, ep := range endpoints {
		m := ep.GetMetrics()
		if m == nil {
			continue
		}
		q := float64(m.WaitingQueueSize)
		if q <= 0 {
			scores[i] = 0.5
			continue
		}
		scores[i] = 0.5 * (1 - min(q, s.threshold)/s.threshold)
	}
}
