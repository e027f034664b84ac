package eppscoringprocessor

import (
	"testing"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// topEndpointsKey is upstream's pick_endpoints attribute (never emitted by our scheduler).
const topEndpointsKey = schema.AttrPickerTopEndpoints

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
		{"ipv4 port zero", "x", "10.0.0.1:0", true},
		{"ipv4 port out of range", "x", "10.0.0.1:65536", true},
		{"ipv4 then more colons", "x", "10.0.0.7:8000:grpc", true},
		{"ipv6 loopback bracket port", "x", "[::1]:9000", true},
		{"ipv6 glued by colon", "x", "endpoint:fd00::7", true},
		{"ipv6 in url", "x", "http://[fd00::7]:8000/", true},
		{"issue ipv4 port", "x", "10.0.0.1:8080", true},
		{"issue deployment pod", "x", "vllm-llama-3-8b-7d9f8c6b5-x2k4p", true},
		{"issue namespaced deployment pod", "x", "llm-d/vllm-llama-3-8b-7d9f8c6b5-x2k4p", true},
		{"issue url", "x", "http://10.0.0.5:8000/v1", true},
		{"issue statefulset fqdn port", "x", "vllm-0.vllm.llm-d.svc.cluster.local:8000", true},
		{"url glued to word", "x", "url:http://vllm:8000", true},
		{"url without host, address in path", "x", "dns:///vllm.llm-d.svc.cluster.local:8000", true},
		{"url without host, bare host:port in pod context", topEndpointsKey, "dns:///vllm:8000", true},
		{"pod in api path", "x", "/api/v1/namespaces/llm-d/pods/vllm-7d9f8b6c5d-x2k4p", true},
		{"namespaced pod then path", "x", "llm-d/vllm-7d9f8b6c5d-x2k4p/logs", true},
		{"pod glued by colon", "x", "pod:vllm-7d9f8b6c5d-x2k4p", true},
		{"pod glued by underscore", "x", "pod_vllm-7d9f8b6c5d-x2k4p", true},
		{"pod glued by at", "x", "vllm-7d9f8b6c5d-x2k4p@llm-d", true},
		{"namespaced statefulset glued in pod context", topEndpointsKey, "pod:llm-d/vllm-0", true},
		{"namespaced bare pod in pod context", topEndpointsKey, "llm-d/my-vllm-pod", true},
		{"namespaced name under pod key", "k8s.pod.name", "default/my-service", true},
		// Issue 9: any Kubernetes name under a key that says it holds
		// endpoints, and upstream's id of a pod without namespace.
		{"bare pod name in pod context", topEndpointsKey, "decode-worker-a", true},
		{"bare pod name under pod key", schema.AttrPDPrefillPodAddress, "prefill-worker-b", true},
		{"generated name with vowels in pod context", topEndpointsKey, "vllm-7d9f8b6c5d-xa2k4", true},
		{"generated name with 0 and 1 in pod context", topEndpointsKey, "vllm-llama-3-8b-decode-0a1b2c3d-e0f1a", true},
		{"empty namespace in pod context", topEndpointsKey, "/pod3", true},
		{"empty namespace dashed in pod context", topEndpointsKey, "/decode-worker-a-rank-0", true},
		{"upstream endpoint id", topEndpointsKey, "llm-d/vllm-llama-3-8b-decode-l9r4r22jfj-k4msf-rank-0", true},
		{"upstream endpoint id, deployment shape outside alphabet", topEndpointsKey, "llm-d/vllm-llama-3-8b-decode-wc2nkrvdgl-4pd9z-rank-0", true},
		{"dotted host in pod context", "server.address", "vllm.example.com", true},
		{"pod glued in pod context", topEndpointsKey, "pod:decode-worker-a", true},
		{"pod in text in pod context", "llm_d.epp.endpoint_note", "picked decode-worker-a over decode-worker-b", true},
		{"pod name under peer key", "net.peer.name", "decode-worker-a", true},
		// The same shapes without pod context pass: no syntax tells them
		// from words, scorer names and LoRA adapters.
		{"bare pod name off pod context", "x", "decode-worker-a", false},
		{"empty namespace off pod context", "x", "/pod3", false},
		{"generated name with vowels off pod context", "x", "vllm-7d9f8b6c5d-xa2k4", false},
		// Values that are never pods, even under a pod key.
		{"number as string under pod key", topEndpointsKey, "8", false},
		{"port as string under pod key", schema.AttrPDPrefillPodPort, "8000", false},
		{"uuid under pod key", topEndpointsKey, "f47ac10b-58cc-4372-a567-0e02b2c3d479", false},
		{"version under pod key", topEndpointsKey, "v1.2.3", false},
		{"pre-release under pod key", topEndpointsKey, "v0.3.0-rc1", false},
		{"bare version under pod key", topEndpointsKey, "1.2.3", false},
		{"model under pod key", topEndpointsKey, "meta-llama/Llama-3.1-8B-Instruct", false},
		{"model qwen under pod key", topEndpointsKey, "Qwen/Qwen2.5-7B-Instruct", false},
		{"word under pod key", topEndpointsKey, "decode", false},
		{"sentence under pod key", topEndpointsKey, "no endpoints left after filtering", false},
		{"duration under pod key", topEndpointsKey, "1.5s", false},
		{"timestamp under pod key", topEndpointsKey, "2026-11-26T20:52:21Z", false},
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
		{"fraction under pod key", topEndpointsKey, "3/8", false},
		{"count text under pod key", topEndpointsKey, "8/8 endpoints", false},
		{"nine hex groups", "x", "1:2:3:4:5:6:7:8:9", false},
		{"namespaced service off pod context", "x", "default/my-service", false},
		{"model in api path off pod context", "x", "models/llama-3/weights", false},
		{"unix socket url", "x", "unix:///var/run/epp.sock", false},
		{"ollama tag", schema.AttrRequestModel, "deepseek-r1:14b", false},
		{"urn uuid", schema.AttrRequestID, "urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301", false},
		{"email", "x", "oncall@example.com", false},
		{"snake case", "x", "lora_adapter_1", false},
		{"scorer name with instance", schema.AttrScorerName, "prefix-cache-scorer_1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isEndpointValue(tt.key, tt.val); got != tt.want {
				t.Errorf("isEndpointValue(%q, %q) = %v, want %v", tt.key, tt.val, got, tt.want)
			}
		})
	}
}

// The traps are realistic values of the schema and of upstream
// spans. None names an endpoint, under its own key or under any key without
// pod context.
func TestTrapsPassUnderAnyKey(t *testing.T) {
	traps := []struct{ key, val string }{
		{schema.AttrRequestModel, "meta-llama/llama-3.1-8b-instruct"},
		{schema.AttrRequestModel, "Qwen/Qwen2.5-7B-Instruct"},
		{schema.AttrRequestModel, "mistralai/Mistral-7B-Instruct-v0.3"},
		{schema.AttrRequestModel, "ibm-granite/granite-3.1-8b-instruct"},
		{schema.AttrRequestModel, "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"},
		{schema.AttrRequestModel, "google/gemma-3-27b-it"},
		{schema.AttrRequestModel, "llama-3"},
		{schema.AttrRequestModel, "llama3.1:latest"},
		{schema.AttrRequestModel, "tweet-summary-0"},
		{schema.AttrRequestModel, "meta-llama/Llama-3.1-8B-Instruct"},
		{schema.AttrRequestModel, "llama-3-8b-sql-lora"},
		{schema.AttrRequestModel, "qwen2-5-7b-finance-lora"},
		{schema.AttrRequestID, "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
		{schema.AttrRequestID, "chatcmpl-7d9f8b6c5d"},
		{schema.AttrScorerType, "prefix-cache-scorer"},
		{schema.AttrScorerType, "precise-prefix-cache-scorer"},
		{schema.AttrScorerType, "session-affinity-scorer"},
		{schema.AttrScorerName, "queue-scorer-2"},
		{"x", "v1.2.3"},
		{"x", "2026-11-26T10:00:00Z"},
		{"x", "2026-11-26T10:00:00.000+01:00"},
		{"x", "12:30"},
		{"x", "1h30m"},
		{"x", "250ms"},
		{"x", "1.5s"},
		{"x", "max-score-picker/max-score-picker"},
	}
	for _, tt := range traps {
		for _, key := range []string{tt.key, "x", "llm_d.epp.note"} {
			if isEndpointValue(key, tt.val) {
				t.Errorf("isEndpointValue(%q, %q) = true, want false", key, tt.val)
			}
		}
	}
}

func TestIsEndpointKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{schema.AttrScoreMax + "x", true}, // not a sub-key of max, but an unknown member of the score family
		{scoreFamily + "vllm-0", true},
		{scoreFamily + "vllm-7d9f8b6c5d-x2k4p", true},
		{schema.AttrEndpointsScored + ".vllm-0", true},
		{schema.AttrScoreMax + ".by_pod", true},
		{"k8s.pod.vllm-7d9f8b6c5d-x2k4p.score", true},
		{"score.10.0.0.7", true},
		{"score.10.0.0.7:8000", true},
		{"endpoint.fd00::7", true},
		{"score_10.0.0.7", true},
		{"score[10.0.0.7]", true},
		{"pod_vllm-7d9f8b6c5d-x2k4p.score", true},
		{"x.v1.2.3.4", false},
		{"gpu-0.util", false},
		{topEndpointsKey, false},
		{schema.AttrPickerTopScores, false},
		{"gpu.0.util", false},
		{"a.1.2.3", false},
		{schema.AttrRequestModel, false},
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

// judge reads schema keys' string values without pod context; that is
// only the same answer as long as no schema key looks like a pod context.
func TestSchemaStringKeysAreNoPodContext(t *testing.T) {
	for _, kind := range []schema.SpanKind{schema.Scoring, schema.Scorer} {
		for _, a := range schema.Attributes(kind) {
			if a.Type == schema.TypeString && isPodContext(a.Key) {
				t.Errorf("schema key %s reads as pod context", a.Key)
			}
		}
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
		{"x", "dns:///vllm.llm-d.svc.cluster.local:8000"},
		{"x", "pod:vllm-7d9f8b6c5d-x2k4p"},
		{"x", "endpoint:fd00::7"},
		{topEndpointsKey, "llm-d/my-vllm-pod"},
		{topEndpointsKey, "/pod3"},
		{topEndpointsKey, "decode-worker-a"},
		{topEndpointsKey, "f47ac10b-58cc-4372-a567-0e02b2c3d479"},
		{topEndpointsKey, "v0.3.0-rc1"},
		{"llm_d.epp.picker.score_10.0.0.7", "/api/v1/namespaces/llm-d/pods/vllm-7d9f8b6c5d-x2k4p"},
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

// FuzzEndpointValue drives the detector with arbitrary keys and values,
// which reaches its slicing far faster than FuzzProcessTraces' OTLP bytes:
// it must never panic, and a value is judged by its tokens alone, so
// padding it with separators changes nothing.
func FuzzEndpointValue(f *testing.F) {
	for _, v := range []string{
		"10.0.0.1:8080", "[::1]:9000", "fe80::1%eth0", "llm-d/vllm-llama-3-8b-7d9f8c6b5-x2k4p",
		"http://10.0.0.5:8000/v1", "dns:///vllm.llm-d.svc.cluster.local:8000", "pod:llm-d/vllm-0",
		"meta-llama/llama-3.1-8b-instruct", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "2026-11-26T10:00:00Z",
		"url:http://", "a/b/c", "x:/y", "://", "1.2.3.4.5", "endpoint:fd00::7",
		"/pod3", "decode-worker-a", "v0.3.0-rc1", "v1..2", "v1.2-", "f47ac10b-58cc-4372-a567-0e02b2c3d479",
	} {
		f.Add(topEndpointsKey, v)
		f.Add(schema.AttrRequestModel, v)
	}
	f.Fuzz(func(t *testing.T, key, val string) {
		got := isEndpointValue(key, val)
		if padded := isEndpointValue(key, " "+val+", "); padded != got {
			t.Fatalf("isEndpointValue(%q, %q) = %v, but %v once padded", key, val, got, padded)
		}
		isEndpointKey(key)
		isEndpointKey(val)
	})
}

// Where the shapes are ambiguous the key decides, and that is the
// decision: under a key that says it holds endpoints, a LoRA adapter or
// scorer name is read as the pod name it could be (the traps pass under
// their own keys, TestTrapsPassUnderAnyKey).
func TestPodContextDecidesAmbiguousNames(t *testing.T) {
	for _, v := range []string{"llama-3.1-8b-sql-lora", "prefix-cache-scorer", "tweet-summary-0"} {
		if !isEndpointValue(topEndpointsKey, v) {
			t.Errorf("isEndpointValue(%q, %q) = false, want true: a Kubernetes name under an endpoint key", topEndpointsKey, v)
		}
	}
}

func TestIsVersionAndUUID(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.2": true, "v1.2.3": true, "v0.3.0-rc1": true, "v1.2.3+build.7": true,
		"v1": false, "v1.": false, "v1..2": false, "v1.2-": true, "v.1.2": false, "version-1.2": false, "va.b": false,
	} {
		if got := isVersion(v); got != want {
			t.Errorf("isVersion(%q) = %v, want %v", v, got, want)
		}
	}
	for v, want := range map[string]bool{
		"f47ac10b-58cc-4372-a567-0e02b2c3d479": true, "F47AC10B-58CC-4372-A567-0E02B2C3D479": true,
		"f47ac10b-58cc-4372-a567-0e02b2c3d47": false, "f47ac10b-58cc-4372-a567_0e02b2c3d479": false,
		"g47ac10b-58cc-4372-a567-0e02b2c3d479": false,
	} {
		if got := isUUID(v); got != want {
			t.Errorf("isUUID(%q) = %v, want %v", v, got, want)
		}
	}
}
