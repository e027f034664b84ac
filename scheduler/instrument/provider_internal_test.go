package instrument

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestProviderDetection(t *testing.T) {
	sdk := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	//nolint:staticcheck // the deprecated no-op provider is still in use.
	deprecated := trace.NewNoopTracerProvider()
	tests := []struct {
		name                string
		tp                  trace.TracerProvider
		wantNoop, wantOff   bool
		wantGlobalDelegator bool
	}{
		{"noop.TracerProvider", noop.NewTracerProvider(), true, true, false},
		{"*noop.TracerProvider", new(noop.TracerProvider), true, true, false},
		{"trace.NewNoopTracerProvider", deprecated, true, true, false},
		{"SDK", sdk, false, false, false},
		{"uncomparable", newUncomparableProvider(), false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := isNoop(tc.tp); got != tc.wantNoop {
				t.Errorf("isNoop = %v, want %v", got, tc.wantNoop)
			}
			if got := IsGlobalDefault(tc.tp); got != tc.wantGlobalDelegator {
				t.Errorf("isGlobalDefault = %v, want %v", got, tc.wantGlobalDelegator)
			}
			if got := tracerOf(tc.tp) == nil; got != tc.wantOff {
				t.Errorf("tracer off = %v, want %v", got, tc.wantOff)
			}
		})
	}
}

// UncomparableProvider is a provider whose type cannot be compared with ==
// (it holds a map), which the tracer caches must survive. It counts its
// Tracer calls. Exported for the external tests.
type UncomparableProvider struct {
	embedded.TracerProvider
	calls map[string]int
}

// NewUncomparableProvider returns an UncomparableProvider with no calls.
func newUncomparableProvider() UncomparableProvider {
	return UncomparableProvider{calls: map[string]int{}}
}

// Tracer implements trace.TracerProvider with a no-op tracer.
func (p UncomparableProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	p.calls["tracer"]++
	return noop.NewTracerProvider().Tracer("")
}

// TracerCalls returns how many times Tracer was called.
func (p UncomparableProvider) TracerCalls() int { return p.calls["tracer"] }
