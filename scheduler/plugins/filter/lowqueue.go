package filter

import (
	"context"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// LowQueueType is the type of the low-queue filter.
const LowQueueType = "low-queue-filter"

// LowQueue keeps endpoints whose waiting queue is at most a threshold. When
// none qualifies it keeps all of them: a busy fleet must still serve, and the
// scorers then rank the busy endpoints. Endpoints without metrics never
// qualify.
type LowQueue struct {
	name      framework.TypedName
	threshold int
}

var _ framework.Filter = (*LowQueue)(nil)

// NewLowQueue returns a low-queue filter named name (the type when empty)
// keeping endpoints with WaitingQueueSize <= threshold.
func NewLowQueue(name string, threshold int) *LowQueue {
	return &LowQueue{name: framework.NewTypedName(LowQueueType, name), threshold: threshold}
}

// TypedName implements framework.Plugin.
func (f *LowQueue) TypedName() framework.TypedName { return f.name }

// Filter implements framework.Filter, in place.
func (f *LowQueue) Filter(_ context.Context, _ *framework.InferenceRequest, endpoints []framework.Endpoint) []framework.Endpoint {
	kept := keepIf(endpoints, f.low)
	if len(kept) == 0 {
		return endpoints
	}
	return kept
}

func (f *LowQueue) low(ep framework.Endpoint) bool {
	m := ep.GetMetrics()
	return m != nil && m.WaitingQueueSize <= f.threshold
}
