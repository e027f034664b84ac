package instrument

import (
	"context"
	"reflect"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// PluginTracer starts a plugin's own spans (a prefix scorer's
// score_prefix_cache, a profile handler's pick_disagg_profile) under the
// span in the context, and only when that span records: a plugin then
// costs nothing when tracing is off or the request is not sampled. The
// provider is the parent span's, so an SDK installed after the plugin was
// built is picked up, and the tracer look-up (which allocates in the SDK)
// is paid once per provider. It is safe for concurrent use.
type PluginTracer struct {
	scope string
	last  atomic.Pointer[providerTracer]
}

type providerTracer struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
}

// NewPluginTracer returns a PluginTracer whose spans carry the given
// instrumentation scope.
func NewPluginTracer(scope string) *PluginTracer {
	return &PluginTracer{scope: scope}
}

// Start starts the span name as a child of the span in ctx when that one
// records; otherwise it returns ctx, a nil span and false.
func (p *PluginTracer) Start(ctx context.Context, name string) (context.Context, trace.Span, bool) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil, false
	}
	ctx, span := p.tracer(parent.TracerProvider()).Start(ctx, name, internalSpanStartOpts...)
	return ctx, span, true
}

func (p *PluginTracer) tracer(tp trace.TracerProvider) trace.Tracer {
	if pt := p.last.Load(); pt != nil && pt.provider == tp {
		return pt.tracer
	}
	t := tp.Tracer(p.scope)
	// Only a comparable provider is cached: comparing two interfaces holding
	// the same uncomparable type would panic. Others look up every time.
	if reflect.TypeOf(tp).Comparable() {
		p.last.Store(&providerTracer{provider: tp, tracer: t})
	}
	return t
}
