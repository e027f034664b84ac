package scheduler

import "go.opentelemetry.io/otel/trace"

// Option configures tracing of a Profile (NewProfile) or of every profile of
// a Scheduler (New).
type Option func(*config)

type config struct {
	// provider is the explicit provider of WithTracerProvider; nil follows
	// the OTel global.
	provider trace.TracerProvider
	// off is WithoutTracing: the reference path, no tracing call at all.
	off bool
}

// WithTracerProvider makes the scoring spans come from tp instead of the
// OTel global provider. A nil tp means the global provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.provider, c.off = tp, false }
}

// WithoutTracing builds the reference path: the scorer chain runs without a
// single tracing call (no provider or tracer look-up, no span, no attribute).
// It is what "tracing off costs nothing" is measured against.
func WithoutTracing() Option {
	return func(c *config) { c.provider, c.off = nil, true }
}

func (c config) with(opts []Option) config {
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}
