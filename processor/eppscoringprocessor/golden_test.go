package eppscoringprocessor

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// -update rewrites testdata/golden/*/{input,expected}.json from the builders
// below and the processor's output, and the fuzz seeds from the inputs.
// Review the diff before committing.
var update = flag.Bool("update", false, "rewrite the golden fixtures in testdata/golden")

type goldenCase struct {
	name  string
	cfg   func(*Config)
	build func(*traceBuilder)
}

var goldenCases = []goldenCase{
	{
		// A clean scoring trace with upstream spans and an out-of-scope span:
		// nothing changes. The out-of-scope span's IP stays: the rule is for
		// scoring spans, not for the gateway's own spans.
		name: "clean",
		build: func(b *traceBuilder) {
			b.span(schema.SpanRunSchedulerProfile).Attributes().PutStr("llm_d.epp.profile", "default")
			b.span(schema.SpanFilterEndpoints).Attributes().PutInt("llm_d.epp.filter.endpoints_out", 8)
			b.chain()
			b.span(schema.SpanScorePrefixCache).Attributes().PutInt(schema.AttrPrefixBlocks, 12)
			pick := b.span(schema.SpanPickEndpoints)
			pick.Attributes().PutEmptySlice(topScoresKey).FromRaw([]any{0.9, 0.8})
			out := b.scope(gatewayScope).span("gateway.request")
			out.Attributes().PutStr("net.peer.ip", "10.0.0.7")
			out.Attributes().PutStr("k8s.pod.name", testPod)
		},
	},
	{
		// The sender's resource describes the sender: never touched.
		name: "resource_untouched",
		build: func(b *traceBuilder) {
			res := b.td.ResourceSpans().At(0).Resource().Attributes()
			res.PutStr("k8s.pod.name", testPod)
			res.PutStr("host.ip", "10.0.0.7")
			b.chain()
		},
	},
	{
		name: "unknown_key",
		build: func(b *traceBuilder) {
			s := b.scoring()
			s.Attributes().PutStr("llm_d.epp.debug", "verbose")
			b.scorer(prefixScorer, prefixScorer).Attributes().PutBool("cache.hit", true)
		},
	},
	{
		name: "wrong_type",
		build: func(b *traceBuilder) {
			s := b.scoring()
			s.Attributes().PutStr(schema.AttrScorerCount, "4")
			sc := b.scorer(queueScorer, queueScorer)
			sc.Attributes().PutInt(schema.AttrScorerWeight, 2)
			sc.Attributes().PutEmptySlice(schema.AttrScorerName).FromRaw([]any{"a", "b"})
			sc.Attributes().PutStr(schema.AttrRedactedCount, "many")
		},
	},
	{
		name: "endpoint_value",
		build: func(b *traceBuilder) {
			s := b.scoring()
			s.Attributes().PutStr(schema.AttrRequestModel, "10.0.0.7:8000")
			sc := b.scorer(prefixScorer, "prefix-"+testPod)
			ev := sc.Events().AppendEmpty()
			ev.SetName("cache.lookup")
			ev.Attributes().PutStr("chosen", "http://vllm.inference.svc:8000/v1")
			ev.Attributes().PutInt("blocks", 12)
			b.span(schema.SpanFilterEndpoints).Attributes().PutStr("llm_d.epp.filter.note", "dropped fd00::7 (queue full)")
		},
	},
	{
		// Per-endpoint keys: a score per pod, a schema key extended by a pod.
		name: "endpoint_key",
		build: func(b *traceBuilder) {
			sc := b.scorer(kvScorer, kvScorer)
			sc.Attributes().PutDouble(schema.AttrScoreMax[:strings.LastIndexByte(schema.AttrScoreMax, '.')+1]+testPod, 0.75)
			sc.Attributes().PutInt(schema.AttrEndpointsScored+".vllm-0", 1)
			b.span(schema.SpanScorePrefixCache).Attributes().PutInt("prefix.blocks."+testPod2, 3)
		},
	},
	{
		// Upstream's known leak: pick_endpoints carries the top endpoints.
		name: "pick_endpoints",
		build: func(b *traceBuilder) {
			b.chain()
			pick := b.span(schema.SpanPickEndpoints)
			pick.Attributes().PutEmptySlice(topEndpointsKey).FromRaw([]any{
				testNamespace + "/" + testPod, testNamespace + "/" + testPod2, testNamespace + "/vllm-0"})
			pick.Attributes().PutEmptySlice(topScoresKey).FromRaw([]any{0.9, 0.8, 0.7})
			pick.Attributes().PutStr("llm_d.epp.picker.type", "max-score-picker")
		},
	},
	{
		// A StatefulSet-shaped top endpoint alone is caught in pod context.
		name: "pick_endpoints_statefulset",
		build: func(b *traceBuilder) {
			pick := b.span(schema.SpanPickEndpoints)
			pick.Attributes().PutEmptySlice(topEndpointsKey).FromRaw([]any{testNamespace + "/vllm-0"})
		},
	},
	{
		// The scorer type names an endpoint: the span is renamed and its type
		// attribute goes through the value rule.
		name: "span_name_endpoint",
		build: func(b *traceBuilder) {
			b.scoring()
			b.scorer("10.0.0.7", "per-pod")
			b.scorer(testPod, testPod)
		},
	},
	{
		name: "span_name_type_limit",
		cfg:  func(c *Config) { c.MaxScorerTypes = 2 },
		build: func(b *traceBuilder) {
			b.chain()
			b.span(schema.ScorerSpanOverflow).Attributes().PutStr(schema.AttrScorerType, "already-overflowed")
		},
	},
	{
		// The traps: realistic values that look like endpoints and stay.
		name: "traps",
		build: func(b *traceBuilder) {
			s := b.scoring()
			s.Attributes().PutStr(schema.AttrRequestModel, "google/gemma-2")
			sc := b.scorer(prefixScorer, "prefix-cache-scorer-2")
			sc.Attributes().PutStr(schema.AttrRequestModel, "llama-3")
			sc.Attributes().PutInt(schema.AttrEndpointsScored, 7)
			b.scorer(queueScorer, "queue-scorer-1")
			prof := b.span(schema.SpanRunSchedulerProfile).Attributes()
			prof.PutStr(schema.AttrRequestModel, testModel)
			prof.PutStr("llm_d.epp.profile.started", "2026-11-26T20:52:21Z")
			prof.PutInt("llm_d.epp.endpoints", 8)
			prof.PutStr("llm_d.epp.ratio", "3:1")
			prof.PutStr("llm_d.epp.profile.clock", "12:30")
			prof.PutStr("llm_d.epp.profile.timeout", "1.5s")
			prof.PutStr("llm_d.epp.version", "v1.2.3")
			// Model names of every shape, on the scorer spans that may carry them.
			for _, model := range []string{"Qwen/Qwen2.5-7B-Instruct", "mistralai/Mistral-7B-Instruct-v0.3", "ibm-granite/granite-3.1-8b-instruct"} {
				sc := b.scorer(kvScorer, kvScorer)
				sc.Attributes().PutStr(schema.AttrRequestModel, model)
				sc.Attributes().PutStr(schema.AttrRequestID, "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
			}
		},
	},
	{
		// Endpoints hidden in longer tokens: glued to a word, inside a path,
		// behind a host-less URL, an IPv4 with a bad port, upstream's
		// endpoint ids of bare pods under a key that says it holds endpoints.
		name: "hidden_endpoints",
		build: func(b *traceBuilder) {
			ev := b.scorer(prefixScorer, prefixScorer).Events().AppendEmpty()
			ev.SetName("cache.lookup")
			ev.Attributes().PutStr("best", "pod:"+testPod)
			ev.Attributes().PutStr("target", "dns:///vllm.inference.svc.cluster.local:8000")
			ev.Attributes().PutStr("note", "retrying 10.0.0.7:0")
			ev.Attributes().PutStr("model", testModel)
			pick := b.span(schema.SpanPickEndpoints).Attributes()
			pick.PutEmptySlice(topEndpointsKey).FromRaw([]any{testNamespace + "/vllm-decode-a", testNamespace + "/vllm-decode-b"})
			pick.PutStr("llm_d.epp.picker.source", "/api/v1/namespaces/"+testNamespace+"/pods/"+testPod2)
			pick.PutStr("llm_d.epp.picker.endpoints_ready", "3/8")
		},
	},
	{
		// The default scope by instrumentation scope: every span of
		// upstream EPP's scopes is in scope, whatever its name (P/D's
		// prepare_disaggregation names the prefill pod, a span upstream may
		// add later names another), while another service's spans in the
		// same trace stay untouched even when they share a name.
		name: "instrumentation_scopes",
		build: func(b *traceBuilder) {
			b.scope(schema.ScopeUpstreamScheduling)
			b.span(schema.SpanRunSchedulerProfile).Attributes().PutStr(schema.AttrProfileName, "prefill")
			b.chain()
			b.span(schema.SpanPickEndpoints).Attributes().PutEmptySlice(topEndpointsKey).FromRaw([]any{
				"llm-d/vllm-llama-3-8b-prefill-wc2nkrvdgl-4fpl5-rank-0"})
			b.scope(schema.ScopeUpstreamPlugins)
			pick := b.span(schema.SpanPickDisaggProfile).Attributes()
			pick.PutStr(schema.AttrRequestModel, "meta-llama/Llama-3.1-8B-Instruct")
			pick.PutStr(schema.AttrProfileHandlerDecision, "run_prefill")
			pick.PutStr(schema.AttrMMModality, "none")
			pick.PutInt(schema.AttrMMHashCount, 0)
			prep := b.span(schema.SpanPrepareDisaggregation).Attributes()
			prep.PutStr(schema.AttrRequestModel, "llama-3.1-8b-sql-lora")
			prep.PutBool(schema.AttrPDDisaggregationUsed, true)
			prep.PutStr(schema.AttrPDPrefillPodAddress, "10.244.1.15")
			prep.PutStr(schema.AttrPDPrefillPodPort, "8000")
			prep.PutStr(schema.AttrEncodeEndpoints, "[fd00::7]:8000,10.244.2.3:8000")
			prep.PutStr(schema.AttrEncodeReason, "no_encode_profile_result")
			// A scope and span name upstream does not have (yet).
			b.scope(schema.UpstreamScopePrefix+"/requestcontrol").span("admit_request").Attributes().PutStr("llm_d.epp.admitted.target_pod", "decode-worker-a")
			gw := b.scope(gatewayScope)
			gw.span("gateway.request").Attributes().PutStr("net.peer.ip", "10.244.1.15")
			gw.span(schema.SpanPrepareDisaggregation).Attributes().PutStr(schema.AttrPDPrefillPodAddress, "10.244.1.15")
			b.scope("llm-d-disagg-sidecar").span("pd_proxy").Attributes().PutStr(schema.AttrPDProxyPrefillTarget, "10.244.1.15:8000")
		},
	},
	{
		// Scoping by instrumentation scope alone, the span name lists off.
		name: "scopes_only",
		cfg: func(c *Config) {
			c.SpanNames = nil
			c.ScopeNames = nil
			c.ScopeNamePrefixes = []string{schema.ScopeUpstreamPlugins}
		},
		build: func(b *traceBuilder) {
			b.scope(schema.ScopeUpstreamScheduling)
			b.span(schema.SpanPickEndpoints).Attributes().PutEmptySlice(topEndpointsKey).FromRaw([]any{"llm-d/" + testPod})
			b.scope(schema.ScopeUpstreamPlugins)
			b.span(schema.SpanPrepareDisaggregation).Attributes().PutStr(schema.AttrPDPrefillPodAddress, "fd00::7")
		},
	},
	{
		// Endpoint shapes that only a key saying "endpoint" or "pod"
		// gives away: a hand-made pod name, a generated name with letters
		// outside Kubernetes' random alphabet, upstream's id of a pod whose
		// namespace is unset. The same values under other keys, and the
		// values that are never pods under any key, stay.
		name: "pod_context_names",
		build: func(b *traceBuilder) {
			pick := b.span(schema.SpanPickEndpoints).Attributes()
			pick.PutEmptySlice(topEndpointsKey).FromRaw([]any{"/pod3", "/pod4"})
			pick.PutStr("llm_d.epp.picker.best_pod", "decode-worker-a")
			pick.PutStr("llm_d.epp.picker.best_endpoint", "vllm-7d9f8b6c5d-xa2k4")
			pick.PutStr("llm_d.epp.picker.note", "decode-worker-a")
			pick.PutStr("llm_d.epp.picker.path", "/pod3")
			pick.PutStr(schema.AttrRequestModel, "meta-llama/Llama-3.1-8B-Instruct")
			prep := b.span(schema.SpanPrepareDisaggregation).Attributes()
			prep.PutStr(schema.AttrPDPrefillPodPort, "8000")
			prep.PutStr("llm_d.epp.pd.prefill_pod_request", testRequestID)
			prep.PutStr("llm_d.epp.pd.endpoint_picker_version", "v0.3.0-rc1")
			prep.PutStr("llm_d.epp.pd.endpoint_model", "meta-llama/Llama-3.1-8B-Instruct")
		},
	},
	{
		name: "report_mode",
		cfg:  func(c *Config) { c.Mode = ModeReport },
		build: func(b *traceBuilder) {
			s := b.scoring()
			s.Attributes().PutStr("llm_d.epp.debug", "x")
			s.Attributes().PutStr(schema.AttrRequestModel, "10.0.0.7")
			b.scorer(testPod, testPod)
			b.span(schema.SpanPickEndpoints).Attributes().PutEmptySlice(topEndpointsKey).FromRaw([]any{testNamespace + "/" + testPod})
		},
	},
	{
		name: "no_summary",
		cfg:  func(c *Config) { c.Summary = false },
		build: func(b *traceBuilder) {
			b.scoring().Attributes().PutStr("llm_d.epp.debug", "x")
		},
	},
	{
		// Operator config: an extra allowed key (its value still vetted), a
		// custom span name and prefix in scope, pick_endpoints left out (and
		// no instrumentation scope in scope as a whole).
		name: "custom_scope",
		cfg: func(c *Config) {
			c.AllowedKeys = []string{"llm_d.epp.profile.name", "llm_d.epp.target"}
			c.SpanNames = []string{"my_router"}
			c.SpanNamePrefixes = []string{"my_scheduler."}
			c.ScopeNames = nil
		},
		build: func(b *traceBuilder) {
			s := b.scoring()
			s.Attributes().PutStr("llm_d.epp.profile.name", "decode")
			s.Attributes().PutStr("llm_d.epp.target", testPod)
			b.span("my_router").Attributes().PutStr("upstream", "10.0.0.7:8000")
			b.span("my_scheduler.pick").Attributes().PutStr("chosen", testNamespace+"/"+testPod)
			b.span(schema.SpanPickEndpoints).Attributes().PutStr("chosen", testNamespace+"/"+testPod)
		},
	},
	{
		// Malformed input: empty, huge, nested, maps, bytes. Never a panic,
		// never a lost span; too-deep values fail closed.
		name: "malformed",
		build: func(b *traceBuilder) {
			s := b.scoring()
			s.Attributes().PutStr(schema.AttrRequestModel, "")
			s.Attributes().PutStr(schema.AttrRequestID, strings.Repeat("x", 4096))
			s.Attributes().PutEmpty("")
			p := b.span(schema.SpanPickEndpoints).Attributes()
			p.PutEmptyMap("llm_d.epp.picker.meta").FromRaw(map[string]any{"profile": "decode", "best": testPod})
			p.PutEmptyMap("llm_d.epp.picker.safe").FromRaw(map[string]any{"profile": "decode"})
			p.PutEmptyBytes("llm_d.epp.picker.raw").FromRaw([]byte("10.0.0.7"))
			p.PutEmptySlice("llm_d.epp.picker.nested").FromRaw([]any{[]any{[]any{"10.0.0.7"}}})
			deep := any("x")
			for range maxValueDepth + 2 {
				deep = []any{deep}
			}
			p.PutEmptySlice("llm_d.epp.picker.deep").FromRaw(deep.([]any))
			p.PutEmptySlice("llm_d.epp.picker.empty").FromRaw([]any{})
			p.PutStr("llm_d.epp.picker.huge", strings.Repeat("scorer ", 2000))
		},
	},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", tc.name)
			inPath, expPath := filepath.Join(dir, "input.json"), filepath.Join(dir, "expected.json")
			cfg := createDefaultConfig()
			if tc.cfg != nil {
				tc.cfg(cfg)
			}
			if *update {
				b := newTraceBuilder()
				tc.build(b)
				require.NoError(t, os.MkdirAll(dir, 0o755))
				writeTracesJSON(t, inPath, b.td)
			}
			input, err := golden.ReadTraces(inPath)
			require.NoError(t, err)
			spans := input.SpanCount()
			if *update {
				writeFuzzSeed(t, tc.name, input)
			}

			got, err := newTestProcessor(t, cfg).processTraces(context.Background(), input)
			require.NoError(t, err)
			require.Equal(t, spans, got.SpanCount(), "a span was lost")
			if *update {
				writeTracesJSON(t, expPath, got)
			}
			expected, err := golden.ReadTraces(expPath)
			require.NoError(t, err)
			require.NoError(t, ptracetest.CompareTraces(expected, got))
		})
	}
}

// writeTracesJSON writes OTLP JSON, indented so fixture diffs are readable.
func writeTracesJSON(t *testing.T, path string, td ptrace.Traces) {
	t.Helper()
	raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, json.Indent(&buf, raw, "", "  "))
	buf.WriteByte('\n')
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}
