package scorer

import (
	"context"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// KVCacheUtilizationType is the upstream type of the KV-cache utilization scorer.
const KVCacheUtilizationType = "kv-cache-utilization-scorer"

// KVCacheUtilization prefers endpoints with free KV-cache: it scores
// 1 - KVCacheUsagePercent, the usage clamped to [0,1] first.
type KVCacheUtilization struct {
	name framework.TypedName
}

var _ framework.Scorer = (*KVCacheUtilization)(nil)

// NewKVCacheUtilization returns a KV-cache utilization scorer named name
// (the type when empty).
func NewKVCacheUtilization(name string) *KVCacheUtilization {
	return &KVCacheUtilization{name: framework.NewTypedName(KVCacheUtilizationType, name)}
}

// TypedName implements framework.Plugin.
func (s *KVCacheUtilization) TypedName() framework.TypedName { return s.name }

// Category implements framework.Scorer.
func (s *KVCacheUtilization) Category() framework.ScorerCategory { return framework.Distribution }

// Score implements framework.Scorer. Endpoints without metrics, or whose
// usage is NaN, keep no score: a missing metric is not an empty cache.
func (s *KVCacheUtilization) Score(_ context.Context, _ *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	for i, ep := range endpoints {
		m := ep.GetMetrics()
		if m == nil || !framework.Scored(m.KVCacheUsagePercent) {
			continue
		}
		scores[i] = 1 - framework.Clamp01(m.KVCacheUsagePercent)
	}
}
