package bench

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/scorelens/scorelens/processor/eppscoringprocessor"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// The batch: requests × (scoring parent + 4 scorers, 4 upstream scheduling
// spans, 16 gateway spans out of scope) = 1000 spans, a fifth of them
// scoring spans. As an SDK exports them, the EPP's spans share one
// ScopeSpans (upstream's scheduling scope) and the gateway's another.
const (
	benchRequests       = 40
	spansPerRequest     = 25
	benchSpans          = benchRequests * spansPerRequest
	benchPod            = "vllm-llama3-8b-7d9f8b6c5d-x2k4p"
	benchModel          = "meta-llama/llama-3.1-8b-instruct"
	upstreamTopEndpoint = schema.AttrPickerTopEndpoints
	upstreamTopScores   = schema.AttrPickerTopScores
	upstreamProfile     = "llm_d.epp.profile"
	upstreamFiltered    = "llm_d.epp.filter.endpoints_out"
	upstreamNote        = "llm_d.epp.filter.note"
	benchGatewayScope   = "gateway"
	benchGatewaySpan    = "gateway.step_"
)

var benchScorers = []string{"prefix-cache-scorer", "queue-scorer", "kv-cache-utilization-scorer", "lora-affinity-scorer"}

// gatewayAttrs are the out-of-scope spans' attributes (clean for both
// processors: no value an IP or host:port regex matches).
var gatewayAttrs = []string{"http.request.method", "url.path", "gen_ai.system", "component"}

// buildBatch builds the benchmark batch. With violations, every request
// leaks: upstream's top endpoints, a per-endpoint score key, an IP in a note,
// a host:port as the model.
func buildBatch(violations bool) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "llm-d-epp")
	gwScope := rs.ScopeSpans().AppendEmpty()
	gwScope.Scope().SetName(benchGatewayScope)
	eppScope := rs.ScopeSpans().AppendEmpty()
	eppScope.Scope().SetName(schema.ScopeUpstreamScheduling)
	var id uint64
	spans := eppScope.Spans()
	span := func(name string) pcommon.Map {
		id++
		dst := spans
		if strings.HasPrefix(name, benchGatewaySpan) {
			dst = gwScope.Spans()
		}
		s := dst.AppendEmpty()
		s.SetName(name)
		s.SetTraceID(pcommon.TraceID{byte(id >> 8), byte(id), 1})
		s.SetSpanID(pcommon.SpanID{byte(id >> 8), byte(id), 2})
		s.SetStartTimestamp(pcommon.Timestamp(id * 1000))
		s.SetEndTimestamp(pcommon.Timestamp(id*1000 + 500))
		return s.Attributes()
	}
	for r := range benchRequests {
		for g := range 16 {
			a := span(fmt.Sprintf(benchGatewaySpan+"%d", g%4))
			a.PutStr(gatewayAttrs[0], "POST")
			a.PutStr(gatewayAttrs[1], "/v1/completions")
			a.PutStr(gatewayAttrs[2], "vllm")
			a.PutInt(gatewayAttrs[3], int64(g))
		}
		span(schema.SpanRunSchedulerProfile).PutStr(upstreamProfile, "default")
		filter := span(schema.SpanFilterEndpoints)
		filter.PutInt(upstreamFiltered, 8)
		p := span(schema.SpanScoring)
		p.PutInt(schema.AttrScorerCount, int64(len(benchScorers)))
		p.PutInt(schema.AttrScoringCandidates, 8)
		p.PutStr(schema.AttrRequestModel, benchModel)
		p.PutStr(schema.AttrRequestID, fmt.Sprintf("550e8400-e29b-41d4-a716-4466554%05d", r))
		for i, typ := range benchScorers {
			s := span(schema.ScorerSpanPrefix + typ)
			s.PutStr(schema.AttrScorerType, typ)
			s.PutStr(schema.AttrScorerName, typ)
			s.PutDouble(schema.AttrScorerWeight, 1)
			s.PutInt(schema.AttrScorerCandidates, 8)
			s.PutDouble(schema.AttrScoreMax, 0.9)
			s.PutDouble(schema.AttrScoreAvg, 0.5)
			s.PutInt(schema.AttrEndpointsScored, 8)
			if violations && i == 0 {
				s.PutDouble(schema.AttrScoreMax[:len(schema.AttrScoreMax)-len("max")]+benchPod, 0.9)
			}
		}
		span(schema.SpanScorePrefixCache).PutInt(schema.AttrPrefixBlocks, 12)
		pick := span(schema.SpanPickEndpoints)
		pick.PutEmptySlice(upstreamTopScores).FromRaw([]any{0.9, 0.8, 0.7})
		if violations {
			pick.PutEmptySlice(upstreamTopEndpoint).FromRaw([]any{"inference/" + benchPod, "inference/vllm-0", "10.0.0.7:8000"})
			filter.PutStr(upstreamNote, "dropped 10.0.0.9 (queue full)")
			p.PutStr(schema.AttrRequestModel, "vllm.inference.svc:8000")
		}
	}
	if n := td.SpanCount(); n != benchSpans {
		panic(fmt.Sprintf("batch has %d spans, want %d", n, benchSpans))
	}
	return td
}

// redactionConfig configures contrib's redaction processor as close to the
// eppscoring rule as it goes: the schema's keys (and the clean batch's other
// keys, since it cannot scope by span name) in allowed_keys, endpoint value
// shapes as blocked_values regexes.
func redactionConfig() *redactionprocessor.Config {
	cfg := redactionprocessor.NewFactory().CreateDefaultConfig().(*redactionprocessor.Config)
	keys := map[string]bool{"service.name": true}
	for _, kind := range []schema.SpanKind{schema.Scoring, schema.Scorer} {
		for _, a := range schema.Attributes(kind) {
			keys[a.Key] = true
		}
	}
	for _, k := range append(gatewayAttrs, upstreamTopScores, upstreamProfile, upstreamFiltered, schema.AttrPrefixBlocks, upstreamNote) {
		keys[k] = true
	}
	for k := range keys {
		cfg.AllowedKeys = append(cfg.AllowedKeys, k)
	}
	cfg.BlockedValues = []string{
		`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b`,                                                                 // IPv4, with or without port
		`(?i)\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b`,                                                             // IPv6
		`\b[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?:\d{2,5}\b`,                                                             // host:port
		`\b[a-z0-9](?:[-a-z0-9]*[a-z0-9])?-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}\b`, // Deployment pod
		`[a-z][a-z0-9+.-]*://[^/\s]+`,                                                                              // URL with a host
	}
	cfg.Summary = "info"
	return cfg
}

type procImpl struct {
	name    string
	factory processor.Factory
	cfg     func() component.Config
}

var procImpls = []procImpl{
	{"eppscoring", eppscoringprocessor.NewFactory(), func() component.Config {
		return eppscoringprocessor.NewFactory().CreateDefaultConfig()
	}},
	{"redaction", redactionprocessor.NewFactory(), func() component.Config { return redactionConfig() }},
	// The minimal configuration: only the IPv4 and host:port
	// regexes. It misses pod names, URLs and IPv6, so it is a weaker rule,
	// shown so that the ratio does not rest on the number of regexes.
	{"redaction-iphostport", redactionprocessor.NewFactory(), func() component.Config {
		cfg := redactionConfig()
		cfg.BlockedValues = []string{cfg.BlockedValues[0], cfg.BlockedValues[2]}
		return cfg
	}},
}

func newBenchProcessor(tb testing.TB, im procImpl) processor.Traces {
	tb.Helper()
	p, err := im.factory.CreateTraces(context.Background(), processortest.NewNopSettings(im.factory.Type()), im.cfg(), consumertest.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// benchChunk is how many fresh batch copies are made at a time.
const benchChunk = 32

// BenchmarkProcessor runs both processors on the same batches. Both mutate,
// so every iteration gets its own copy of the batch. The copies are made
// with the timer stopped, benchChunk at a time, followed by a forced GC, so
// that neither the copying nor the garbage it leaves is charged to the
// processor under test: the timed region and allocs/span hold only the
// processor's own work (and the GC its own allocations cause). Both
// implementations are measured the same way.
func BenchmarkProcessor(b *testing.B) {
	for _, batch := range []struct {
		name       string
		violations bool
	}{{"clean", false}, {"violations", true}} {
		src := buildBatch(batch.violations)
		for _, im := range procImpls {
			b.Run(fmt.Sprintf("batch=%s/impl=%s", batch.name, im.name), func(b *testing.B) {
				p := newBenchProcessor(b, im)
				ctx := context.Background()
				var ms runtime.MemStats
				var mallocs uint64
				copies := make([]ptrace.Traces, benchChunk)
				b.ReportAllocs()
				b.ResetTimer()
				b.StopTimer()
				for done := 0; done < b.N; {
					n := min(benchChunk, b.N-done)
					for i := range n {
						copies[i] = ptrace.NewTraces()
						src.CopyTo(copies[i])
					}
					runtime.GC()
					runtime.ReadMemStats(&ms)
					before := ms.Mallocs
					b.StartTimer()
					for i := range n {
						if err := p.ConsumeTraces(ctx, copies[i]); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					runtime.ReadMemStats(&ms)
					mallocs += ms.Mallocs - before
					done += n
				}
				spans := float64(b.N) * benchSpans
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
				b.ReportMetric(float64(mallocs)/spans, "allocs/span")
			})
		}
	}
}

// TestProcessorBenchBatches keeps the comparison honest: on the clean batch
// both processors change nothing, and on the violations batch both take out
// the same leaks (redaction masks values instead of removing them).
func TestProcessorBenchBatches(t *testing.T) {
	marshal := func(td ptrace.Traces) string {
		b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, im := range procImpls {
		t.Run(im.name, func(t *testing.T) {
			sink := new(consumertest.TracesSink)
			p, err := im.factory.CreateTraces(context.Background(), processortest.NewNopSettings(im.factory.Type()), im.cfg(), sink)
			if err != nil {
				t.Fatal(err)
			}
			clean := buildBatch(false)
			if err := p.ConsumeTraces(context.Background(), clean); err != nil {
				t.Fatal(err)
			}
			if marshal(clean) != marshal(buildBatch(false)) {
				t.Fatal("clean batch changed")
			}
			dirty := buildBatch(true)
			if err := p.ConsumeTraces(context.Background(), dirty); err != nil {
				t.Fatal(err)
			}
			leaks := 0
			for _, ss := range dirty.ResourceSpans().At(0).ScopeSpans().All() {
				spans := ss.Spans()
				for i := range spans.Len() {
					a := spans.At(i).Attributes()
					if _, ok := a.Get(upstreamTopEndpoint); ok {
						leaks++
					}
					if v, ok := a.Get(upstreamNote); ok && v.Str() == "dropped 10.0.0.9 (queue full)" {
						leaks++
					}
					if v, ok := a.Get(schema.AttrRequestModel); ok && v.Str() == "vllm.inference.svc:8000" {
						leaks++
					}
				}
			}
			if leaks != 0 {
				t.Fatalf("%d leaks left in the violations batch", leaks)
			}
			if sink.SpanCount() != 2*benchSpans {
				t.Fatalf("%d spans reached the sink", sink.SpanCount())
			}
		})
	}
}
