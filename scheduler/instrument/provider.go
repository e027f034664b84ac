package instrument

import (
	"reflect"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// tracerSource hands the spans their tracer, or nil when tracing is off.
//
// Following the global provider costs one atomic load per root span: the
// tracer is re-resolved only when otel.GetTracerProvider() returns another
// provider than last time, so an SDK installed after NewTracer is picked up
// on the next request, and no Tracer() call (the global's allocates) is
// made per request.
type tracerSource struct {
	// fixed: the provider was given explicitly and tracer never changes.
	fixed  bool
	tracer trace.Tracer
	cache  atomic.Pointer[resolvedTracer]
}

type resolvedTracer struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
	// comparable: provider's dynamic type supports ==; a provider that
	// does not is resolved again on every root span (correct, not free).
	comparable bool
}

func (s *tracerSource) init(tp trace.TracerProvider) {
	// An explicit provider that is the global's not-yet-delegated default
	// follows the global: it only starts recording once an SDK is
	// installed, which the global path notices.
	if tp != nil && !IsGlobalDefault(tp) {
		s.fixed, s.tracer = true, tracerOf(tp)
	}
}

// get returns the tracer to use now, nil when tracing is off.
func (s *tracerSource) get() trace.Tracer {
	if s.fixed {
		return s.tracer
	}
	tp := otel.GetTracerProvider()
	if r := s.cache.Load(); r != nil && r.comparable && r.provider == tp {
		return r.tracer
	}
	r := &resolvedTracer{provider: tp, tracer: tracerOf(tp), comparable: tp != nil && reflect.TypeOf(tp).Comparable()}
	s.cache.Store(r)
	return r.tracer
}

// tracerOf returns tp's tracer for the scheduling spans, or nil when tp can
// never record: nil, a no-op provider, or the global default before an SDK
// is installed. Starting spans on those would allocate for nothing.
func tracerOf(tp trace.TracerProvider) trace.Tracer {
	if tp == nil || IsGlobalDefault(tp) || isNoop(tp) {
		return nil
	}
	return tp.Tracer(schema.ScopeScheduler)
}

// Provider types known never to record, by package path and type name.
// Unexported types cannot be named, and reflect on a provider change is
// cheap enough (it never happens per request).
var neverRecording = [...]struct{ pkg, name string }{
	{"go.opentelemetry.io/otel/trace/noop", "TracerProvider"},
	// trace.NewNoopTracerProvider (deprecated, still in use).
	{"go.opentelemetry.io/otel/trace", "noopTracerProvider"},
}

func isNoop(tp trace.TracerProvider) bool {
	t := reflect.TypeOf(tp)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for _, n := range neverRecording {
		if t.PkgPath() == n.pkg && t.Name() == n.name {
			return true
		}
	}
	return false
}

// IsGlobalDefault reports whether tp is the OTel global's default
// delegating provider (*global.tracerProvider in
// go.opentelemetry.io/otel/internal/global, v1.47.0): the provider
// otel.GetTracerProvider returns before any SDK is installed.
//
// Why by type and not by capturing otel.GetTracerProvider() at package
// init: init order among unrelated packages is by import path, so a package
// that installs an SDK in its init may run before ours, and the captured
// value would then be the SDK. The type test holds whatever the order:
// otel.SetTracerProvider stores the installed provider in the global, so
// once one is installed the global never returns the default again.
//
// Limits: (1) if a future OTel release renames the type, the test turns
// false and the global default is treated as a real provider: spans are
// started on it and tracing off gains allocations, which the scheduler's
// TestGlobalProviderChild catches; nothing is lost. (2) Go eBPF
// auto-instrumentation that hooks the default global tracer's spans
// (go.opentelemetry.io/auto) sees no scheduling spans: we never call it.
func IsGlobalDefault(tp trace.TracerProvider) bool {
	t := reflect.TypeOf(tp)
	return t != nil && t.Kind() == reflect.Pointer &&
		t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global" &&
		t.Elem().Name() == "tracerProvider"
}
