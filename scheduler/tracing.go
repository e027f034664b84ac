package scheduler

import (
	"github.com/scorelens/scorelens/scheduler/instrument"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// ScopeName is the instrumentation scope of the scheduling spans.
const ScopeName = schema.ScopeScheduler

// newTracer returns the profile's span maker: nil (no tracing call at all)
// on the WithoutTracing path.
func newTracer(c config) *instrument.Tracer {
	if c.off {
		return nil
	}
	return instrument.NewTracer(instrument.WithTracerProvider(c.provider))
}
