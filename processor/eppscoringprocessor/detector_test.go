package eppscoringprocessor

import (
	"testing"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// topEndpointsKey is upstream's pick_endpoints attribute (not in our schema).
const topEndpointsKey = "llm_d.epp.picker.top_endpoints"

func TestIsEndpointValue(t *testing.T) {
	tests := []struct {
		name string
		key  string
		val  string
		want bool
	}{
		// Positives.
		{"ipv4", "x", "10.0.0.7", true},
		{"ipv4 port", "x", "10.0.0.7:8000", true},
		{"ipv4 cidr", "x", "10.0.0.0/8", true},
		{"ipv4 with path", "x", "10.0.0.7:8000/v1/completions", true},
		{"ipv4 in text", "x", "picked 10.0.0.7, score 0.9", true},
		{"ipv4 end of sentence", "x", "sent to 10.0.0.7.", true},
		{"ipv4 after equals", "x", "endpoint=10.0.0.7", true},
		{"ipv6", "x", "fd00::7", true},
		{"ipv6 full", "x", "2001:db8:0:0:0:0:0:1", true},
		{"ipv6 bracket port", "x", "[fd00::7]:8000", true},
		{"ipv6 zone", "x", "fe80::1%eth0", true},
		{"ipv6 mapped v4", "x", "::ffff:10.0.0.7", true},
		{"host port dotted", "x", "vllm.inference:8000", true},
		{"host port localhost", "x", "localhost:8000", true},
		{"host port pod", "x", "vllm-7d9f8b6c5d-x2k4p:8000", true},
		{"host port statefulset", "x", "vllm-0:8000", true},
		{"host port label in pod context", "llm_d.epp.target_host", "vllm:8000", true},
		{"url", "x", "http://vllm.default.svc:8000/v1", true},
		{"url ip", "x", "grpc://10.0.0.7:9002", true},
		{"url userinfo", "x", "https://user@vllm-0.vllm/metrics", true},
		{"cluster dns svc", "x", "vllm.default.svc", true},
		{"cluster dns fqdn", "x", "vllm-0.vllm.default.svc.cluster.local", true},
		{"cluster dns fqdn dot", "x", "vllm.default.svc.cluster.local.", true},
		{"deployment pod", "x", "vllm-llama3-8b-7d9f8b6c5d-x2k4p", true},
		{"deployment pod short hash", "x", "vllm-5d4b9c-x2k4p", true},
		{"deployment pod in text", "x", "pod vllm-7d9f8b6c5d-x2k4p was best", true},
		{"namespaced deployment pod", "x", "default/vllm-7d9f8b6c5d-x2k4p", true},
		{"namespaced statefulset in pod context", topEndpointsKey, "default/vllm-0", true},
		{"statefulset in pod context", topEndpointsKey, "vllm-12", true},
		{"statefulset under pod key", "k8s.pod.name", "vllm-0", true},
		{"namespaced ip", "x", "default/10.0.0.7", true},
		{"ipv4 glued by dash", schema.AttrScorerName, "prefix-10.0.0.7", true},
		{"ipv4 glued by at", "x", "pod@10.0.0.7:8000", true},
		{"ipv4 glued by underscore", "x", "score_10.0.0.7", true},
		{"version glued to letter", "x", "v1.2.3.4", false},
		{"five dotted numbers", "x", "release-1.2.3.4.5", false},
		{"dotted numbers then letter", "x", "build-1.2.3.4a", false},

		// The schema's own realistic values and other traps.
		{"model org/model", schema.AttrRequestModel, "meta-llama/llama-3.1-8b-instruct", false},
		{"model org/model upper", schema.AttrRequestModel, "meta-llama/Meta-Llama-3-8B-Instruct", false},
		{"model statefulset shaped", schema.AttrRequestModel, "llama-3", false},
		{"model namespaced statefulset shaped", schema.AttrRequestModel, "google/gemma-2", false},
		{"model lora", schema.AttrRequestModel, "tweet-summary-1", false},
		{"model tag", schema.AttrRequestModel, "llama3:70b", false},
		{"model gguf", schema.AttrRequestModel, "TheBloke/Llama-2-7B-GGUF", false},
		{"uuid", schema.AttrRequestID, "550e8400-e29b-41d4-a716-446655440000", false},
		{"uuid caps", schema.AttrRequestID, "550E8400-E29B-41D4-A716-446655440000", false},
		{"scorer type", schema.AttrScorerType, "prefix-cache-scorer", false},
		{"scorer type kv", schema.AttrScorerType, "kv-cache-utilization-scorer", false},
		{"scorer name", schema.AttrScorerName, "prefix-cache-scorer-2", false},
		{"scorer name statefulset shaped", schema.AttrScorerName, "queue-scorer-1", false},
		{"time", "x", "12:30:45", false},
		{"timestamp", "x", "2026-11-26T20:52:21Z", false},
		{"ratio", "x", "3:1", false},
		{"key value", "x", "status:200", false},
		{"version", "x", "v1.2.3", false},
		{"file url", "x", "file:///models/llama", false},
		{"path", "x", "/v1/completions", false},
		{"deep path", "x", "a/b/c", false},
		{"empty", "x", "", false},
		{"spaces", "x", "   ", false},
		{"colons", "x", ":::::", false},
		{"hex colons not ipv6", "x", "a:b:c", false},
		{"cpp", "x", "std::vector", false},
		{"profile", "x", "decode", false},
		{"sentence", "x", "no endpoints left after filtering", false},
		{"plain word", "x", "default", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isEndpointValue(tt.key, tt.val); got != tt.want {
				t.Errorf("isEndpointValue(%q, %q) = %v, want %v", tt.key, tt.val, got, tt.want)
			}
		})
	}
}

func TestIsEndpointKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{schema.AttrScoreMax + "x", true}, // not a sub-key of max, but an unknown member of the score family
		{"llm_d.epp.scorer.score.vllm-0", true},
		{"llm_d.epp.scorer.score.vllm-7d9f8b6c5d-x2k4p", true},
		{schema.AttrEndpointsScored + ".vllm-0", true},
		{schema.AttrScoreMax + ".by_pod", true},
		{"k8s.pod.vllm-7d9f8b6c5d-x2k4p.score", true},
		{"score.10.0.0.7", true},
		{"score.10.0.0.7:8000", true},
		{"endpoint.fd00::7", true},
		{topEndpointsKey, false},
		{"llm_d.epp.picker.top_scores", false},
		{"gpu.0.util", false},
		{"a.1.2.3", false},
		{"gen_ai.request.model", false},
		{"llm_d.epp.profile.name", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isEndpointKey(tt.key); got != tt.want {
			t.Errorf("isEndpointKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

// No schema key may look per-endpoint, whatever its span kind.
func TestSchemaKeysAreNotEndpointKeys(t *testing.T) {
	for _, kind := range []schema.SpanKind{schema.Scoring, schema.Scorer} {
		for _, a := range schema.Attributes(kind) {
			if isEndpointKey(a.Key) {
				t.Errorf("schema key %s flagged as endpoint key", a.Key)
			}
		}
	}
	if isEndpointKey(schema.AttrRedactedCount) {
		t.Errorf("%s flagged as endpoint key", schema.AttrRedactedCount)
	}
}

func TestDetectorDoesNotAllocate(t *testing.T) {
	values := []struct{ key, val string }{
		{schema.AttrRequestModel, "meta-llama/llama-3.1-8b-instruct"},
		{schema.AttrRequestID, "550e8400-e29b-41d4-a716-446655440000"},
		{schema.AttrScorerType, "prefix-cache-scorer"},
		{topEndpointsKey, "default/vllm-7d9f8b6c5d-x2k4p"},
		{"x", "fd00::7"},
		{"x", "http://10.0.0.7:8000/v1"},
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, v := range values {
			isEndpointValue(v.key, v.val)
			isEndpointKey(v.key)
		}
	})
	if allocs != 0 {
		t.Fatalf("detector allocates %v times per run", allocs)
	}
}
