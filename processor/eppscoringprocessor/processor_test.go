package eppscoringprocessor

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/scorelens/scorelens/scheduler/schema"
)

func violationsBatch() ptrace.Traces {
	b := newTraceBuilder()
	s := b.scoring()
	s.Attributes().PutStr("llm_d.epp.debug", "x")              // unknown_key
	s.Attributes().PutStr(schema.AttrScorerCount, "4")         // wrong_type
	s.Attributes().PutStr(schema.AttrRequestModel, "10.0.0.7") // endpoint_value
	sc := b.scorer(prefixScorer, prefixScorer)                 //
	sc.Attributes().PutDouble(scoreFamily+testPod, 1)          // endpoint_key
	b.scorer(testPod, testPod)                                 // renamed: endpoint_type; its type and name: endpoint_value x2
	b.span(schema.SpanPickEndpoints).Attributes().PutEmptySlice(topEndpointsKey).FromRaw([]any{testNamespace + "/" + testPod})
	b.scope(gatewayScope).span("gateway.request").Attributes().PutStr("net.peer.ip", "10.0.0.7") // out of scope
	return b.td
}

func sumPoints(reasons map[string]int64) []metricdata.DataPoint[int64] {
	var dps []metricdata.DataPoint[int64]
	for r, v := range reasons {
		dps = append(dps, metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("reason", r)), Value: v})
	}
	return dps
}

// assertSum checks a cumulative monotonic int64 sum of the processor's own
// telemetry. Descriptions are TestTelemetryMatchesMetadata's business.
func assertSum(t *testing.T, tel *componenttest.Telemetry, name, unit string, points []metricdata.DataPoint[int64]) {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: name, Unit: unit, Description: m.Description,
		Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: points},
	}, m, metricdatatest.IgnoreTimestamp())
}

func TestTelemetry(t *testing.T) {
	for _, mode := range []Mode{ModeStrip, ModeReport} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := createDefaultConfig()
			cfg.Mode = mode
			p, tel := newTelemetryProcessor(t, cfg)
			for range 2 {
				_, err := p.processTraces(context.Background(), violationsBatch())
				require.NoError(t, err)
			}
			attrs, spans := "otelcol_processor_eppscoring_attributes_removed", "otelcol_processor_eppscoring_spans_renamed"
			absentAttrs, absentSpans := "otelcol_processor_eppscoring_attributes_reported", "otelcol_processor_eppscoring_spans_reported"
			if mode == ModeReport {
				attrs, spans, absentAttrs, absentSpans = absentAttrs, absentSpans, attrs, spans
			}
			assertSum(t, tel, "otelcol_processor_eppscoring_spans_checked", "{span}",
				[]metricdata.DataPoint[int64]{{Value: 2 * 4}})
			assertSum(t, tel, attrs, "{attribute}",
				sumPoints(map[string]int64{"unknown_key": 2, "wrong_type": 2, "endpoint_value": 2 * 4, "endpoint_key": 2}))
			assertSum(t, tel, spans, "{span}", sumPoints(map[string]int64{"endpoint_type": 2}))

			for _, name := range []string{absentAttrs, absentSpans} {
				_, err := tel.GetMetric(name)
				assert.Error(t, err, "%s must stay unused in mode %s", name, mode)
			}
		})
	}
}

// A second strip pass finds nothing: the output obeys the rule, and the
// summary attribute is not itself a violation.
func TestStripIsIdempotent(t *testing.T) {
	p := newTestProcessor(t, createDefaultConfig())
	td := violationsBatch()
	var first, second tally
	p.apply(td, &first)
	require.NotZero(t, first.findings())
	before := ptrace.NewTraces()
	td.CopyTo(before)
	p.apply(td, &second)
	assert.Zero(t, second.findings())
	assert.Equal(t, before, td)
}

// A span stripped before (by another collector in the path) keeps one
// summary attribute, which the new removals add to.
func TestSummaryAddsUp(t *testing.T) {
	b := newTraceBuilder()
	a := b.scoring().Attributes()
	a.PutInt(schema.AttrRedactedCount, 2)
	a.PutStr("llm_d.epp.debug", "x")
	a.PutStr(schema.AttrRequestModel, "10.0.0.7")
	_, err := newTestProcessor(t, createDefaultConfig()).processTraces(context.Background(), b.td)
	require.NoError(t, err)
	v, ok := a.Get(schema.AttrRedactedCount)
	require.True(t, ok)
	assert.Equal(t, int64(4), v.Int())
	assert.Equal(t, 4, a.Len(), "the schema attributes but the model, and the summary")
}

func TestReportModeChangesNothing(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Mode = ModeReport
	p := newTestProcessor(t, cfg)
	td := violationsBatch()
	td.MarkReadOnly() // report mode declares MutatesData false: a write would panic
	var tl tally
	p.apply(td, &tl)
	assert.Equal(t, int64(4), tl.attrs[reasonEndpointValue])
	require.NoError(t, ptracetest.CompareTraces(violationsBatch(), td))
}

func TestCleanBatchDoesNotAllocate(t *testing.T) {
	b := newTraceBuilder()
	for range 10 {
		b.scope(schema.ScopeScheduler)
		b.span(schema.SpanRunSchedulerProfile)
		b.chain()
		pick := b.span(schema.SpanPickEndpoints)
		pick.Attributes().PutEmptySlice(topScoresKey).FromRaw([]any{0.9, 0.8})
		b.scope(schema.ScopeUpstreamPlugins).span(schema.SpanPickDisaggProfile).Attributes().PutStr(schema.AttrProfileHandlerDecision, "run_decode")
		b.scope(gatewayScope).span("gateway.request").Attributes().PutStr("net.peer.ip", "10.0.0.7")
	}
	p := newTestProcessor(t, createDefaultConfig())
	td := b.td
	ctx := context.Background()
	allocs := testing.AllocsPerRun(50, func() {
		_, _ = p.processTraces(ctx, td)
	})
	// The instruments' Add calls on the nop meter do not allocate; the
	// clean per-span loop must not either.
	assert.Zero(t, allocs)
}

func TestConcurrentBatches(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.MaxScorerTypes = 8
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(typ)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := new(consumertest.TracesSink)
	proc, err := createTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))

	const workers, batches = 4, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				b := newTraceBuilder()
				// 16 distinct types over all workers: half overflow.
				b.scorer(fmt.Sprintf("scorer-type-%d", (w*batches+i)%16), "n")
				b.chain()
				assert.NoError(t, proc.ConsumeTraces(context.Background(), b.td))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, proc.Shutdown(context.Background()))
	require.Equal(t, workers*batches*6, sink.SpanCount())

	names := map[string]bool{}
	for _, td := range sink.AllTraces() {
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := range spans.Len() {
			if n := spans.At(i).Name(); schema.Classify(n) == schema.Scorer {
				names[n] = true
			}
		}
	}
	assert.True(t, names[schema.ScorerSpanOverflow], "types beyond the limit overflow")
	assert.LessOrEqual(t, len(names), cfg.MaxScorerTypes+1, "distinct scorer span names stay bounded: %v", names)
}

func TestScorerTypesBound(t *testing.T) {
	s := newScorerTypes(2)
	assert.True(t, s.admit("a"))
	assert.True(t, s.admit("b"))
	assert.False(t, s.admit("c"))
	assert.True(t, s.admit("a"), "admitted types stay admitted once full")
	assert.Zero(t, testing.AllocsPerRun(100, func() { s.admit("b"); s.admit("c") }))
}
