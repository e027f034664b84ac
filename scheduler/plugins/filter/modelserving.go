package filter

import (
	"context"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// ModelServingType is the type of the model-serving filter.
const ModelServingType = "model-serving-filter"

// ModelServing keeps the endpoints that can serve the request's adapter
// (req.Adapter()) without evicting another: it is in ActiveModels or
// WaitingModels, or the endpoint has a free adapter slot (MaxActiveModels > 0
// and fewer active). Unlike LowQueue it may keep nothing: an endpoint that
// cannot load the adapter cannot serve the request, and the profile then
// fails with no candidates rather than route it there. A request without a
// model passes every endpoint.
type ModelServing struct {
	name framework.TypedName
}

var _ framework.Filter = (*ModelServing)(nil)

// NewModelServing returns a model-serving filter named name (the type when
// empty).
func NewModelServing(name string) *ModelServing {
	return &ModelServing{name: framework.NewTypedName(ModelServingType, name)}
}

// TypedName implements framework.Plugin.
func (f *ModelServing) TypedName() framework.TypedName { return f.name }

// Filter implements framework.Filter, in place.
func (f *ModelServing) Filter(_ context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint) []framework.Endpoint {
	adapter := req.Adapter()
	if adapter == "" {
		return endpoints
	}
	return keepIf(endpoints, func(ep framework.Endpoint) bool { return serves(ep.GetMetrics(), adapter) })
}

func serves(m *framework.Metrics, adapter string) bool {
	if m == nil {
		return false
	}
	if _, ok := m.ActiveModels[adapter]; ok {
		return true
	}
	if _, ok := m.WaitingModels[adapter]; ok {
		return true
	}
	return m.MaxActiveModels > 0 && len(m.ActiveModels) < m.MaxActiveModels
}
