package eppscoringconnector

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// The collector identity and version the harness hands the connector.
const (
	testCollectorID = "3f1c2b7e-0d4a-4e1b-9a55-6c0f8e2d1a90"
	testVersion     = "0.1.0-test"
)

// baseTime anchors every span of the tests, so exemplars are stable.
var baseTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a manual clock for the connector: tests move time, never sleep.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// scorerSpec describes one scorer child span. Unset scores (NaN) are not
// written; model, when set, is written on the child itself.
type scorerSpec struct {
	typ, name string
	took      time.Duration
	max, avg  float64
	err       bool
	model     string
	// decisive is the decision flag written on the span: 0 none, 1
	// false, 2 true.
	decisive int8
}

// request describes one scheduling: a parent scoring span and its scorers.
type request struct {
	id         byte
	model      string
	took       time.Duration
	candidates int64
	scorers    []scorerSpec
	// tied and margin are the chain's decision signals, written when tied
	// is set (margin when not NaN).
	tied   int64
	margin float64
}

func scorer(typ, name string, took time.Duration, maxScore, avgScore float64) scorerSpec {
	return scorerSpec{typ: typ, name: name, took: took, max: maxScore, avg: avgScore}
}

func noScores(typ, name string, took time.Duration) scorerSpec {
	return scorerSpec{typ: typ, name: name, took: took, max: math.NaN(), avg: math.NaN()}
}

func (r request) traceID() pcommon.TraceID { return pcommon.TraceID{0xAB, r.id} }
func (r request) spanID() pcommon.SpanID   { return pcommon.SpanID{0xCD, r.id} }

// newTraces returns an empty batch from one EPP replica.
func newTraces() (ptrace.Traces, ptrace.SpanSlice) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "epp")
	return td, rs.ScopeSpans().AppendEmpty().Spans()
}

// addChildren appends the scorer spans of r, in the order they end.
func addChildren(spans ptrace.SpanSlice, r request) {
	start := baseTime.Add(time.Duration(r.id) * time.Second)
	for i, s := range r.scorers {
		sp := spans.AppendEmpty()
		sp.SetName(schema.ScorerSpanPrefix + s.typ)
		sp.SetTraceID(r.traceID())
		sp.SetSpanID(pcommon.SpanID{0xEF, r.id, byte(i)})
		sp.SetParentSpanID(r.spanID())
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(s.took)))
		a := sp.Attributes()
		a.PutStr(schema.AttrScorerType, s.typ)
		a.PutStr(schema.AttrScorerName, s.name)
		a.PutDouble(schema.AttrScorerWeight, 1)
		if !math.IsNaN(s.max) {
			a.PutDouble(schema.AttrScoreMax, s.max)
		}
		if !math.IsNaN(s.avg) {
			a.PutDouble(schema.AttrScoreAvg, s.avg)
		}
		if s.model != "" {
			a.PutStr(schema.AttrRequestModel, s.model)
		}
		if s.decisive != 0 {
			a.PutBool(schema.AttrScorerDecisive, s.decisive == 2)
		}
		if s.err {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		start = start.Add(s.took)
	}
}

// addParent appends r's scoring span.
func addParent(spans ptrace.SpanSlice, r request) {
	start := baseTime.Add(time.Duration(r.id) * time.Second)
	sp := spans.AppendEmpty()
	sp.SetName(schema.SpanScoring)
	sp.SetTraceID(r.traceID())
	sp.SetSpanID(r.spanID())
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(r.took)))
	a := sp.Attributes()
	a.PutInt(schema.AttrScorerCount, int64(len(r.scorers)))
	a.PutInt(schema.AttrScoringCandidates, r.candidates)
	if r.model != "" {
		a.PutStr(schema.AttrRequestModel, r.model)
	}
	if r.tied != 0 {
		a.PutInt(schema.AttrScoringTied, r.tied)
		if !math.IsNaN(r.margin) {
			a.PutDouble(schema.AttrScoringMargin, r.margin)
		}
	}
}

// batch is one ConsumeTraces call holding whole requests (children, then
// parent, as an SDK exports them).
func batch(reqs ...request) ptrace.Traces {
	td, spans := newTraces()
	for _, r := range reqs {
		addChildren(spans, r)
		addParent(spans, r)
	}
	return td
}

// harness is a connector built by the real factory, with a manual clock and
// a sink as next consumer.
type harness struct {
	c    *eppConnector
	sink *consumertest.MetricsSink
	clk  *clock
	tel  *componenttest.Telemetry
}

func newHarness(t testing.TB, mutate func(*Config)) *harness {
	t.Helper()
	cfg := createDefaultConfig()
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	// What the collector service hands a component: its own resource and
	// the distribution's version.
	set.Resource.Attributes().PutStr(string(semconv.ServiceInstanceIDKey), testCollectorID)
	set.BuildInfo.Version = testVersion
	sink := new(consumertest.MetricsSink)
	tc, err := NewFactory().CreateTracesToMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	c := tc.(*eppConnector)
	clk := &clock{t: baseTime.Add(time.Hour)}
	c.now = clk.Now
	return &harness{c: c, sink: sink, clk: clk, tel: tel}
}

func (h *harness) consume(t *testing.T, td ptrace.Traces) {
	t.Helper()
	require.NoError(t, h.c.ConsumeTraces(context.Background(), td))
}

// flush emits and returns what reached the sink in this flush (an empty
// Metrics when nothing did).
func (h *harness) flush(t *testing.T) pmetric.Metrics {
	t.Helper()
	before := len(h.sink.AllMetrics())
	require.NoError(t, h.c.flush(context.Background()))
	all := h.sink.AllMetrics()
	if len(all) == before {
		return pmetric.NewMetrics()
	}
	require.Len(t, all, before+1)
	return all[before]
}

// counter returns the sum of an own-telemetry counter's points whose
// attribute key has the value (key "" sums all points).
func (h *harness) counter(t *testing.T, name, key, value string) int64 {
	t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	var dps []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		dps = d.DataPoints
	case metricdata.Gauge[int64]:
		dps = d.DataPoints
	default:
		t.Fatalf("metric %s has unexpected data %T", name, m.Data)
	}
	var n int64
	for _, dp := range dps {
		if key == "" {
			n += dp.Value
			continue
		}
		if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.AsString() == value {
			n += dp.Value
		}
	}
	return n
}

// scorerCalls sums llm_d.epp.scorer.calls by model ("" = no model).
func scorerCalls(md pmetric.Metrics) map[string]int64 {
	return callsBy(md, schema.AttrRequestModel)
}

// callsBy sums llm_d.epp.scorer.calls by the value of one data point
// attribute ("" when the point lacks it).
func callsBy(md pmetric.Metrics, key string) map[string]int64 {
	out := map[string]int64{}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if ms.At(k).Name() != schema.MetricScorerCalls {
					continue
				}
				dps := ms.At(k).Sum().DataPoints()
				for d := 0; d < dps.Len(); d++ {
					v, _ := dps.At(d).Attributes().Get(key)
					out[v.Str()] += dps.At(d).IntValue()
				}
			}
		}
	}
	return out
}

var _ component.Config = (*Config)(nil)
