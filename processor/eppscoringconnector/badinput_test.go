package eppscoringconnector

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// badBatch holds one request whose spans are broken in every way the
// connector must survive, plus its valid parts. Expected counts are in
// TestGolden/bad_input.
func badBatch() ptrace.Traces {
	td, spans := newTraces()
	trace := pcommon.TraceID{0xBA, 0xD}
	parent := pcommon.SpanID{0xBA, 0xD}
	start := pcommon.NewTimestampFromTime(baseTime)
	child := func(name string, id byte, took time.Duration) ptrace.Span {
		sp := spans.AppendEmpty()
		sp.SetName(name)
		sp.SetTraceID(trace)
		sp.SetSpanID(pcommon.SpanID{0xBA, 0xD, id})
		sp.SetParentSpanID(parent)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + pcommon.Timestamp(took))
		return sp
	}
	// Skipped, missing_attribute: no scorer name.
	sp := child(schema.ScorerSpanPrefix+"queue-scorer", 1, 10*time.Microsecond)
	sp.Attributes().PutStr(schema.AttrScorerType, "queue-scorer")
	// Skipped, wrong_type: the type is an int.
	sp = child(schema.ScorerSpanPrefix+"queue-scorer", 2, 10*time.Microsecond)
	sp.Attributes().PutInt(schema.AttrScorerType, 7)
	sp.Attributes().PutStr(schema.AttrScorerName, "queue")
	// Skipped, invalid_duration: ends before it starts.
	sp = child(schema.ScorerSpanPrefix+"queue-scorer", 3, 0)
	sp.SetEndTimestamp(start - 1)
	sp.Attributes().PutStr(schema.AttrScorerType, "queue-scorer")
	sp.Attributes().PutStr(schema.AttrScorerName, "queue")
	// Kept, with two not_finite scores and a wrong_type model ignored.
	sp = child(schema.ScorerSpanPrefix+"kv-cache-utilization-scorer", 4, 50*time.Microsecond)
	sp.Attributes().PutStr(schema.AttrScorerType, "kv-cache-utilization-scorer")
	sp.Attributes().PutStr(schema.AttrScorerName, "kv")
	sp.Attributes().PutDouble(schema.AttrScoreMax, math.NaN())
	sp.Attributes().PutDouble(schema.AttrScoreAvg, math.Inf(1))
	sp.Attributes().PutInt(schema.AttrRequestModel, 42)
	// Kept: zero duration, type only in the span name, score.max a string
	// (wrong_type), a valid score.avg.
	sp = child(schema.ScorerSpanPrefix+"prefix-cache-scorer", 5, 0)
	sp.Attributes().PutStr(schema.AttrScorerName, "prefix")
	sp.Attributes().PutStr(schema.AttrScoreMax, "high")
	sp.Attributes().PutDouble(schema.AttrScoreAvg, 0.25)
	// A second parent, skipped (invalid_duration): no start time.
	p := spans.AppendEmpty()
	p.SetName(schema.SpanScoring)
	p.SetTraceID(pcommon.TraceID{0xBA, 0xE})
	p.SetSpanID(pcommon.SpanID{0xBA, 0xE})
	p.SetEndTimestamp(start)
	// The parent: its candidates are out_of_range, its model joins.
	p = spans.AppendEmpty()
	p.SetName(schema.SpanScoring)
	p.SetTraceID(trace)
	p.SetSpanID(parent)
	p.SetStartTimestamp(start)
	p.SetEndTimestamp(start + pcommon.Timestamp(time.Millisecond))
	p.Attributes().PutStr(schema.AttrRequestModel, "llama-3-8b")
	p.Attributes().PutInt(schema.AttrScoringCandidates, -3)
	// Not schema spans at all, ignored and not counted.
	spans.AppendEmpty().SetName(schema.SpanPickEndpoints)
	spans.AppendEmpty().SetName(schema.ScorerSpanPrefix)
	return td
}

// assertNoNaN fails on any non-finite value in md.
func assertNoNaN(t *testing.T, md pmetric.Metrics) {
	t.Helper()
	bad := func(what string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s is %v", what, v)
		}
	}
	histogram := func(name string, sum, minV, maxV float64, ex pmetric.ExemplarSlice) {
		bad(name+" sum", sum)
		bad(name+" min", minV)
		bad(name+" max", maxV)
		for _, e := range ex.All() {
			bad(name+" exemplar", e.DoubleValue())
		}
	}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				switch m.Type() {
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						histogram(m.Name(), dp.Sum(), dp.Min(), dp.Max(), dp.Exemplars())
					}
				case pmetric.MetricTypeExponentialHistogram:
					for _, dp := range m.ExponentialHistogram().DataPoints().All() {
						histogram(m.Name(), dp.Sum(), dp.Min(), dp.Max(), dp.Exemplars())
					}
				case pmetric.MetricTypeSum:
					for _, dp := range m.Sum().DataPoints().All() {
						if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
							bad(m.Name(), dp.DoubleValue())
						}
					}
				default:
					t.Errorf("%s: unexpected type %v", m.Name(), m.Type())
				}
			}
		}
	}
}

// TestOnlySchemaSpansFeedIt: spans outside the schema feed nothing and are
// not counted, even when they carry the schema's attributes.
func TestOnlySchemaSpansFeedIt(t *testing.T) {
	h := newHarness(t, nil)
	td, spans := newTraces()
	for _, name := range append(schema.UpstreamSpans(), schema.ScorerSpanPrefix, schema.SpanScoring+".other", "GET /") {
		sp := spans.AppendEmpty()
		sp.SetName(name)
		sp.SetTraceID(pcommon.TraceID{0x5})
		sp.SetSpanID(pcommon.SpanID{0x5, byte(spans.Len())})
		sp.SetParentSpanID(reqLlama.spanID())
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(baseTime))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(time.Millisecond)))
		sp.Attributes().PutStr(schema.AttrScorerType, "queue-scorer")
		sp.Attributes().PutStr(schema.AttrScorerName, "queue")
		sp.Attributes().PutStr(schema.AttrRequestModel, "llama-3-8b")
	}
	h.consume(t, td)
	assert.Equal(t, 0, h.flush(t).DataPointCount())
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_spans_observed", "", ""))
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_spans_skipped", "", ""))
	assert.Empty(t, h.c.agg.resources, "a batch without schema spans creates no resource")
}
