// Package loadgen drives a collector over real OTLP from the outside: it
// generates a realistic mix of EPP spans, sends them over OTLP/gRPC at a
// bounded rate, receives what the collector exports in a sink of its own,
// and sends malformed requests to both OTLP ports. `make load`,
// `make bench-collector` and the end-to-end fault tests use it.
package loadgen

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// TraceSpans is the number of spans of one generated trace: one request's
// scoring span and its four scorer spans (a fifth of the traffic), then 20
// spans of the gateway and of upstream's scheduler around them.
const TraceSpans = 25

// Scorers are the generated requests' scorer chain.
var Scorers = [...]struct{ Type, Name string }{
	{"prefix-cache-scorer", "prefix"},
	{"kv-cache-utilization-scorer", "kv"},
	{"queue-scorer", "queue"},
	{"lora-affinity-scorer", "lora"},
}

// Models are the generated requests' target models, one per trace in turn.
var Models = [...]string{"llama-3-8b", "qwen-2-7b", "mistral-7b"}

var others = append(schema.UpstreamSpans(), "POST /v1/chat/completions", "envoy.ext_proc")

// Batch builds an export request of traces*TraceSpans spans. Span IDs are
// first..first+n-1 (big-endian), so every span of a run is unique and a sink
// can tell lost spans from duplicates; trace IDs derive from the span IDs.
func Batch(traces int, first uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr(string(semconv.ServiceNameKey), "epp")
	rs.Resource().Attributes().PutStr(string(semconv.K8SPodNameKey), "epp-7d9f8b6c5-x2x4z")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(traces * TraceSpans)
	now := pcommon.NewTimestampFromTime(time.Now())
	id := first
	next := func() pcommon.SpanID {
		var s pcommon.SpanID
		binary.BigEndian.PutUint64(s[:], id)
		id++
		return s
	}
	for g := range traces {
		var trace pcommon.TraceID
		binary.BigEndian.PutUint64(trace[:8], 0x5c0e1e25)
		binary.BigEndian.PutUint64(trace[8:], id)
		parent := next()
		sp := spans.AppendEmpty()
		sp.SetName(schema.SpanScoring)
		sp.SetKind(ptrace.SpanKindInternal)
		sp.SetTraceID(trace)
		sp.SetSpanID(parent)
		sp.SetStartTimestamp(now)
		sp.SetEndTimestamp(now + pcommon.Timestamp(300_000+g))
		a := sp.Attributes()
		a.PutInt(schema.AttrScorerCount, int64(len(Scorers)))
		a.PutInt(schema.AttrScoringCandidates, 16)
		a.PutStr(schema.AttrRequestModel, Models[int(id)%len(Models)])
		a.PutStr(schema.AttrRequestID, "req-0001")
		for i, s := range Scorers {
			sp := spans.AppendEmpty()
			sp.SetName(schema.ScorerSpanPrefix + s.Type)
			sp.SetKind(ptrace.SpanKindInternal)
			sp.SetTraceID(trace)
			sp.SetSpanID(next())
			sp.SetParentSpanID(parent)
			sp.SetStartTimestamp(now)
			sp.SetEndTimestamp(now + pcommon.Timestamp(20_000*(i+1)+g))
			a := sp.Attributes()
			a.PutStr(schema.AttrScorerType, s.Type)
			a.PutStr(schema.AttrScorerName, s.Name)
			a.PutDouble(schema.AttrScorerWeight, 1)
			a.PutInt(schema.AttrScorerCandidates, 16)
			a.PutDouble(schema.AttrScoreMax, 0.9)
			a.PutDouble(schema.AttrScoreAvg, 0.4)
			a.PutInt(schema.AttrEndpointsScored, 16)
		}
		for i := range TraceSpans - 1 - len(Scorers) {
			sp := spans.AppendEmpty()
			sp.SetName(others[i%len(others)])
			sp.SetKind(ptrace.SpanKindServer)
			sp.SetTraceID(trace)
			sp.SetSpanID(next())
			sp.SetStartTimestamp(now)
			sp.SetEndTimestamp(now + pcommon.Timestamp(1_000_000+i))
			sp.Attributes().PutStr(string(semconv.HTTPRouteKey), "/v1/chat/completions")
		}
	}
	return td
}

// SpanID is the number a span of Batch carries in its span ID.
func SpanID(s ptrace.Span) uint64 {
	id := s.SpanID()
	return binary.BigEndian.Uint64(id[:])
}
