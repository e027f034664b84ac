package eppscoringconnector

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// metricNames lists the metric names of a flush.
func metricNames(md pmetric.Metrics) map[string]bool {
	out := map[string]bool{}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				out[m.Name()] = true
			}
		}
	}
	return out
}

// TestDecisionBadValues: decision signals of the wrong type or out of
// range are counted as skipped values and feed nothing; the span still
// counts as a call or a chain.
func TestDecisionBadValues(t *testing.T) {
	h := newHarness(t, nil)
	r := request{id: 1, model: "m", took: time.Millisecond, candidates: 4, tied: 1, margin: -0.5, scorers: []scorerSpec{
		{typ: "queue-scorer", name: "queue-scorer", took: time.Microsecond, max: math.NaN(), avg: math.NaN()},
	}}
	td, spans := newTraces()
	addChildren(spans, r)
	addParent(spans, r)
	spans.At(0).Attributes().PutStr(schema.AttrScorerDecisive, "true") // wrong type
	spans.At(1).Attributes().PutInt(schema.AttrScoringTied, 0)         // out of range
	r2 := r
	r2.id, r2.tied, r2.margin = 2, 1, math.NaN()
	addChildren(spans, r2)
	addParent(spans, r2)
	spans.At(3).Attributes().PutStr(schema.AttrScoringTied, "1")              // wrong type
	spans.At(3).Attributes().PutDouble(schema.AttrScoringMargin, math.Inf(1)) // not finite
	h.consume(t, td)
	md := h.flush(t)
	names := metricNames(md)
	for _, m := range []string{schema.MetricScorerDecisive, schema.MetricScoringMargin, schema.MetricScoringTies} {
		assert.False(t, names[m], "%s emitted from bad values", m)
	}
	assert.True(t, names[schema.MetricScorerCalls])
	for reason, want := range map[string]int64{"wrong_type": 2, "out_of_range": 2, "not_finite": 1} {
		assert.Equal(t, want, h.counter(t, "otelcol_connector_eppscoring_values_skipped", "reason", reason), reason)
	}
}
