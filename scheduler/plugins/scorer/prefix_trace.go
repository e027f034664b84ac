package scorer

import (
	"context"
	"reflect"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// TracerScope is the instrumentation scope of the prefix-cache scorer's own
// span.
const TracerScope = "github.com/scorelens/scorelens/scheduler/plugins/scorer"

// scoreTraced is Score inside a score_prefix_cache span nested under the
// scorer's span. Only request-level facts go on it: the block count, never
// a per-endpoint match.
func (s *PrefixCache) scoreTraced(ctx context.Context, parent trace.Span, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	_, span := s.tracers.tracer(parent.TracerProvider()).Start(ctx, schema.SpanScorePrefixCache, trace.WithSpanKind(trace.SpanKindInternal))
	blocks := s.score(req, endpoints, scores)
	span.SetAttributes(attribute.Int(schema.AttrPrefixBlocks, blocks))
	span.End()
}

// tracerCache remembers the tracer of the last provider seen. The provider
// comes from the parent span, so an SDK installed after the scorer was built
// is picked up, and the per-request look-up (which allocates in the SDK) is
// paid once per provider.
type tracerCache struct {
	last atomic.Pointer[providerTracer]
}

type providerTracer struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
}

func (c *tracerCache) tracer(tp trace.TracerProvider) trace.Tracer {
	if pt := c.last.Load(); pt != nil && pt.provider == tp {
		return pt.tracer
	}
	t := tp.Tracer(TracerScope)
	// Only a comparable provider is cached: comparing two interfaces holding
	// the same uncomparable type would panic. Others look up every time.
	if reflect.TypeOf(tp).Comparable() {
		c.last.Store(&providerTracer{provider: tp, tracer: t})
	}
	return t
}
