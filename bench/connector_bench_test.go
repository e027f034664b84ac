package bench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/scorelens/scorelens/processor/eppscoringconnector"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// The connector benchmark: eppscoring against contrib's spanmetrics
// connector v0.165.1 configured for the same series, on the same batches,
// side by side in one run. Names differ only in the impl= segment so
// bench/cmd/benchratio can pair them (base impl: eppscoring).
//
// spanmetrics is configured with dimensions scorer type and name and the
// same buckets. It cannot select spans by name, so it aggregates every span
// of the batch (the others land in series keyed by their span name), and it
// cannot carry the parent's model onto a scorer's series: eppscoring does
// both, and still has to be the faster one.

const (
	connBatchSpans = 1000
	connGroupSpans = 25 // one request: parent + 4 scorers, then 20 other spans
	connHeapSpans  = 1_000_000
)

var connScorers = [...]struct{ typ, name string }{
	{"prefix-cache-scorer", "prefix"},
	{"kv-cache-utilization-scorer", "kv"},
	{"queue-scorer", "queue"},
	{"lora-affinity-scorer", "lora"},
}

var connModels = [...]string{"llama-3-8b", "qwen-2-7b", "mistral-7b"}

// connBatch builds a realistic 1000-span export: with scoring, a fifth are
// schema spans (40 requests of one parent and four scorers, each followed
// by 20 other spans of its trace); without, only upstream and HTTP spans.
// seq varies trace and span ids between batches.
func connBatch(scoring bool, seq uint32) ptrace.Traces {
	return connBuildBatch(scoring, connGroupSpans, seq)
}

// connBuildBatch builds connBatchSpans spans in groups of groupSize spans per trace:
// with scoring, each group starts with one request's five schema spans.
func connBuildBatch(scoring bool, groupSize int, seq uint32) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "epp")
	rs.Resource().Attributes().PutStr("k8s.pod.name", "epp-7d9f8b6c5-x2x4z")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	start := pcommon.NewTimestampFromTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	others := append(schema.UpstreamSpans(), "POST /v1/chat/completions", "envoy.ext_proc")
	for g := 0; g < connBatchSpans/groupSize; g++ {
		trace := pcommon.TraceID{byte(seq), byte(seq >> 8), byte(seq >> 16), byte(g), 1}
		parent := pcommon.SpanID{byte(seq), byte(seq >> 8), byte(g), 0xFF}
		n := groupSize
		if scoring {
			for i, s := range connScorers {
				sp := spans.AppendEmpty()
				sp.SetName(schema.ScorerSpanPrefix + s.typ)
				sp.SetKind(ptrace.SpanKindInternal)
				sp.SetTraceID(trace)
				sp.SetSpanID(pcommon.SpanID{byte(seq), byte(seq >> 8), byte(g), byte(i)})
				sp.SetParentSpanID(parent)
				sp.SetStartTimestamp(start)
				sp.SetEndTimestamp(start + pcommon.Timestamp(20_000*(i+1)+g))
				a := sp.Attributes()
				a.PutStr(schema.AttrScorerType, s.typ)
				a.PutStr(schema.AttrScorerName, s.name)
				a.PutDouble(schema.AttrScorerWeight, 1)
				a.PutInt(schema.AttrScorerCandidates, 16)
				a.PutDouble(schema.AttrScoreMax, 0.9)
				a.PutDouble(schema.AttrScoreAvg, 0.4)
				a.PutInt(schema.AttrEndpointsScored, 16)
			}
			sp := spans.AppendEmpty()
			sp.SetName(schema.SpanScoring)
			sp.SetKind(ptrace.SpanKindInternal)
			sp.SetTraceID(trace)
			sp.SetSpanID(parent)
			sp.SetStartTimestamp(start)
			sp.SetEndTimestamp(start + pcommon.Timestamp(300_000+g))
			a := sp.Attributes()
			a.PutInt(schema.AttrScorerCount, int64(len(connScorers)))
			a.PutInt(schema.AttrScoringCandidates, 16)
			a.PutStr(schema.AttrRequestModel, connModels[g%len(connModels)])
			a.PutStr(schema.AttrRequestID, "req-0001")
			n -= len(connScorers) + 1
		}
		for i := 0; i < n; i++ {
			sp := spans.AppendEmpty()
			sp.SetName(others[i%len(others)])
			sp.SetKind(ptrace.SpanKindServer)
			sp.SetTraceID(trace)
			sp.SetSpanID(pcommon.SpanID{byte(seq), byte(seq >> 8), byte(g), 0x80 | byte(i)})
			sp.SetStartTimestamp(start)
			sp.SetEndTimestamp(start + pcommon.Timestamp(1_000_000+i))
			sp.Attributes().PutStr("http.route", "/v1/chat/completions")
		}
	}
	return td
}

func connSettings(typ string) connector.Settings {
	return connector.Settings{
		ID: component.NewID(component.MustNewType(typ)),
		TelemetrySettings: component.TelemetrySettings{
			Logger:         zap.NewNop(),
			MeterProvider:  metricnoop.NewMeterProvider(),
			TracerProvider: tracenoop.NewTracerProvider(),
			Resource:       pcommon.NewResource(),
		},
		BuildInfo: component.NewDefaultBuildInfo(),
	}
}

// connBuckets are eppscoring's default duration buckets, given to both
// connectors explicitly so that the two keep the same buckets.
var connBuckets = eppscoringconnector.DefaultBuckets()

type connImpl struct {
	name   string
	create func(tb testing.TB, next consumer.Metrics) connector.Traces
}

var connImpls = []connImpl{
	{"eppscoring", func(tb testing.TB, next consumer.Metrics) connector.Traces {
		f := eppscoringconnector.NewFactory()
		cfg := f.CreateDefaultConfig().(*eppscoringconnector.Config)
		cfg.MetricsFlushInterval = time.Hour // no flush inside the measurement
		cfg.Histogram.Explicit = &eppscoringconnector.ExplicitHistogramConfig{Buckets: connBuckets}
		c, err := f.CreateTracesToMetrics(context.Background(), connSettings("eppscoring"), cfg, next)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}},
	{"spanmetrics", func(tb testing.TB, next consumer.Metrics) connector.Traces {
		f := spanmetricsconnector.NewFactory()
		cfg := f.CreateDefaultConfig().(*spanmetricsconnector.Config)
		cfg.MetricsFlushInterval = time.Hour
		cfg.AggregationCardinalityLimit = 1000 // eppscoring's default
		cfg.Dimensions = []spanmetricsconnector.Dimension{{Name: schema.AttrScorerType}, {Name: schema.AttrScorerName}}
		cfg.Histogram.Explicit = configoptional.Some(spanmetricsconnector.ExplicitHistogramConfig{Buckets: connBuckets})
		c, err := f.CreateTracesToMetrics(context.Background(), connSettings(f.Type().String()), cfg, next)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}},
}

func connDiscard() consumer.Metrics {
	next, _ := consumer.NewMetrics(func(context.Context, pmetric.Metrics) error { return nil })
	return next
}

// connSampledTraceState is what a consistent probability sampler at 10 %
// writes into every span's tracestate (OpenTelemetry sampling spec): both
// connectors then extrapolate each span's count from it.
const connSampledTraceState = "ot=th:e666666666666"

// connSampled returns the scoring batch as a sampler at 10 % exports it.
func connSampled() ptrace.Traces {
	td := connBatch(true, 0)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).TraceState().FromRaw(connSampledTraceState)
	}
	return td
}

func BenchmarkConnector(b *testing.B) {
	batches := map[string]ptrace.Traces{
		"scoring": connBatch(true, 0),
		"other":   connBatch(false, 0),
		// Only schema spans (200 requests): the cost per scoring span.
		"schemaonly": connBuildBatch(true, len(connScorers)+1, 0),
		// The scoring batch with a sampling threshold on every span.
		"sampled": connSampled(),
	}
	for _, spans := range []string{"scoring", "other", "schemaonly", "sampled"} {
		td := batches[spans]
		for _, im := range connImpls {
			b.Run("spans="+spans+"/impl="+im.name, func(b *testing.B) {
				c := im.create(b, connDiscard())
				defer func() { _ = c.Shutdown(context.Background()) }()
				ctx := context.Background()
				if err := c.ConsumeTraces(ctx, td); err != nil { // series exist from here on
					b.Fatal(err)
				}
				// Each measurement starts from a collected heap, so the
				// garbage an earlier one left does not bill this one.
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					_ = c.ConsumeTraces(ctx, td)
				}
				b.StopTimer()
				runtime.ReadMemStats(&after)
				perSpan := float64(b.N) * connBatchSpans
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/perSpan, "ns/span")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/perSpan, "allocs/span")
			})
		}
	}
	// Heap after a million spans in fresh batches (new trace and span ids
	// each time), and its growth over the last nine tenths: flat means the
	// series, the join store and every buffer stopped growing.
	fresh := make([]ptrace.Traces, 16)
	for i := range fresh {
		fresh[i] = connBatch(true, uint32(i+1))
	}
	for _, im := range connImpls {
		b.Run("heap=1e6spans/impl="+im.name, func(b *testing.B) {
			for b.Loop() {
				heap, growth := connHeapAfter(b, im, fresh)
				b.ReportMetric(heap, "heapMB")
				b.ReportMetric(growth, "heapGrowthMB")
			}
		})
	}
}

// connHeapAfter feeds connHeapSpans spans to a fresh connector and returns its heap
// in use (MB over the baseline) and the growth after the first tenth.
func connHeapAfter(b *testing.B, im connImpl, batches []ptrace.Traces) (heapMB, growthMB float64) {
	inUse := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapInuse) / (1 << 20)
	}
	base := inUse()
	c := im.create(b, connDiscard())
	ctx := context.Background()
	var tenth float64
	for i := 0; i < connHeapSpans/connBatchSpans; i++ {
		_ = c.ConsumeTraces(ctx, batches[i%len(batches)])
		if i == connHeapSpans/connBatchSpans/10 {
			tenth = inUse()
		}
	}
	end := inUse()
	runtime.KeepAlive(c)
	_ = c.Shutdown(ctx)
	return end - base, end - tenth
}

// TestConnectorBenchBatches checks that the benchmark measures what it says:
// the batch shape, and that eppscoring turns it into scorer series that
// carry the parent's model.
func TestConnectorBenchBatches(t *testing.T) {
	for name, tt := range map[string]struct {
		td         ptrace.Traces
		wantSchema int
	}{
		"scoring":    {connBatch(true, 0), connBatchSpans / 5},
		"other":      {connBatch(false, 0), 0},
		"schemaonly": {connBuildBatch(true, len(connScorers)+1, 0), connBatchSpans},
	} {
		spans := tt.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		if spans.Len() != connBatchSpans {
			t.Errorf("%s: %d spans, want %d", name, spans.Len(), connBatchSpans)
		}
		schemaSpans := 0
		for i := 0; i < spans.Len(); i++ {
			if schema.Classify(spans.At(i).Name()) != schema.NotSchema {
				schemaSpans++
			}
		}
		if schemaSpans != tt.wantSchema {
			t.Errorf("%s: %d schema spans, want %d", name, schemaSpans, tt.wantSchema)
		}
	}

	var got []pmetric.Metrics
	next, err := consumer.NewMetrics(func(_ context.Context, md pmetric.Metrics) error {
		got = append(got, md)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := connImpls[0].create(t, next)
	if err := c.ConsumeTraces(context.Background(), connBatch(true, 0)); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(context.Background()); err != nil { // flushes
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d flushes, want 1", len(got))
	}
	withModel := 0
	ms := got[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() != schema.MetricScorerDuration {
			continue
		}
		dps := ms.At(i).Histogram().DataPoints()
		for d := 0; d < dps.Len(); d++ {
			if _, ok := dps.At(d).Attributes().Get(schema.AttrRequestModel); ok {
				withModel++
			}
		}
	}
	if want := len(connScorers) * len(connModels); withModel != want {
		t.Errorf("%d scorer series with a model, want %d", withModel, want)
	}

	// The sampled batch is extrapolated: each of its 160 scorer spans
	// stands for 10.
	got = nil
	c = connImpls[0].create(t, next)
	if err := c.ConsumeTraces(context.Background(), connSampled()); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var calls int64
	ms = got[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() == schema.MetricScorerCalls {
			for d := 0; d < ms.At(i).Sum().DataPoints().Len(); d++ {
				calls += ms.At(i).Sum().DataPoints().At(d).IntValue()
			}
		}
	}
	if want := int64(10 * connBatchSpans / connGroupSpans * len(connScorers)); calls != want {
		t.Errorf("sampled batch: %d calls, want %d", calls, want)
	}
}
