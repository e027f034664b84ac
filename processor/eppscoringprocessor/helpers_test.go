package eppscoringprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// Realistic values of a scoring trace, shared by the fixtures and the tests.
const (
	testModel     = "meta-llama/llama-3.1-8b-instruct"
	testRequestID = "550e8400-e29b-41d4-a716-446655440000"
	testPod       = "vllm-llama3-8b-7d9f8b6c5d-x2k4p"
	testPod2      = "vllm-llama3-8b-7d9f8b6c5d-q8w5z"
	testNamespace = "inference"
	prefixScorer  = "prefix-cache-scorer"
	queueScorer   = "queue-scorer"
	kvScorer      = "kv-cache-utilization-scorer"
	loraScorer    = "lora-affinity-scorer"
	// Upstream pick_endpoints keys, not part of our schema.
	topScoresKey = schema.AttrPickerTopScores
)

// traceBuilder builds deterministic traces (fixed ids and timestamps) so the
// fixtures written with -update are stable.
type traceBuilder struct {
	td    ptrace.Traces
	spans ptrace.SpanSlice
	next  byte
}

func newTraceBuilder() *traceBuilder {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "llm-d-epp")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(schema.ScopeScheduler)
	return &traceBuilder{td: td, spans: ss.Spans()}
}

// gatewayScope is the instrumentation scope of another service's spans in
// the same trace (the gateway's): out of scope of the rule by default.
const gatewayScope = "gateway"

// scope starts a new ScopeSpans of the same resource: the spans built next
// belong to the named instrumentation scope.
func (b *traceBuilder) scope(name string) *traceBuilder {
	sss := b.td.ResourceSpans().At(0).ScopeSpans()
	ss := sss.At(sss.Len() - 1)
	if ss.Spans().Len() > 0 {
		ss = sss.AppendEmpty()
	}
	ss.Scope().SetName(name)
	b.spans = ss.Spans()
	return b
}

func (b *traceBuilder) span(name string) ptrace.Span {
	b.next++
	s := b.spans.AppendEmpty()
	s.SetName(name)
	s.SetKind(ptrace.SpanKindInternal)
	s.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 1, b.next})
	s.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(b.next)*1000))
	s.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(b.next)*1000 + 500))
	return s
}

func (b *traceBuilder) scoring() ptrace.Span {
	s := b.span(schema.SpanScoring)
	a := s.Attributes()
	a.PutInt(schema.AttrScorerCount, 4)
	a.PutInt(schema.AttrScoringCandidates, 8)
	a.PutStr(schema.AttrRequestModel, testModel)
	a.PutStr(schema.AttrRequestID, testRequestID)
	return s
}

func (b *traceBuilder) scorer(typ, name string) ptrace.Span {
	s := b.span(schema.ScorerSpanPrefix + typ)
	a := s.Attributes()
	a.PutStr(schema.AttrScorerType, typ)
	a.PutStr(schema.AttrScorerName, name)
	a.PutDouble(schema.AttrScorerWeight, 1)
	a.PutInt(schema.AttrScorerCandidates, 8)
	a.PutDouble(schema.AttrScoreMax, 0.875)
	a.PutDouble(schema.AttrScoreAvg, 0.5)
	a.PutInt(schema.AttrEndpointsScored, 8)
	return s
}

// chain is one request's parent plus its four scorers.
func (b *traceBuilder) chain() {
	b.scoring()
	for _, typ := range []string{prefixScorer, queueScorer, kvScorer, loraScorer} {
		b.scorer(typ, typ)
	}
}

func newTestProcessor(t testing.TB, cfg *Config) *eppProcessor {
	t.Helper()
	require.NoError(t, cfg.Validate())
	p, err := newProcessor(processortest.NewNopSettings(typ), cfg)
	require.NoError(t, err)
	return p
}

func newTelemetryProcessor(t testing.TB, cfg *Config) (*eppProcessor, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(typ)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	p, err := newProcessor(set, cfg)
	require.NoError(t, err)
	return p, tel
}
