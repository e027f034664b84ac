package scheduler

import (
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/scorelens/scorelens/scheduler/instrument"
)

// IsGlobalDefault lets the external tests check the detection against the
// real global of a fresh process.
var IsGlobalDefault = instrument.IsGlobalDefault

// UncomparableProvider is a provider whose type cannot be compared with ==
// (it holds a map), which the tracer caches must survive. It counts its
// Tracer calls. Exported for the external tests.
type UncomparableProvider struct {
	embedded.TracerProvider
	calls map[string]int
}

// NewUncomparableProvider returns an UncomparableProvider with no calls.
func NewUncomparableProvider() UncomparableProvider {
	return UncomparableProvider{calls: map[string]int{}}
}

// Tracer implements trace.TracerProvider with a no-op tracer.
func (p UncomparableProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	p.calls["tracer"]++
	return noop.NewTracerProvider().Tracer("")
}

// TracerCalls returns how many times Tracer was called.
func (p UncomparableProvider) TracerCalls() int { return p.calls["tracer"] }
