package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// Endpoint identities planted in the crafted spans. Each shape the processor
// handles appears at least once; none may survive on a span in scope.
const (
	podDeploy      = "vllm-llama-3-8b-7d9f8b6c5d-x2k4p" // Deployment pod
	podNamespaced  = "vllm-llama-3-8b-7d9f8b6c5d-q7w8z" // sent as namespace/name
	podInKey       = "vllm-llama-3-8b-7d9f8b6c5d-m5n6r" // embedded in a key
	podScorerType  = "vllm-llama-3-8b-7d9f8b6c5d-z9x8c" // a scorer type naming a pod
	podStatefulSet = "vllm-decode-3"                    // StatefulSet pod
	podStatefulKey = "vllm-prefill-0"                   // StatefulSet pod under a pod key
	ipv4Bare       = "10.0.3.7"
	ipv4WithPort   = "10.0.3.8" // sent as 10.0.3.8:8000
	ipv4InURL      = "10.0.3.9" // sent inside a URL
	ipv6Bare       = "fd00:10::a"
	ipv6WithPort   = "fd00:10::b" // sent as [fd00:10::b]:8000
	dnsHost        = "gpu-node-7.example.internal"
	clusterHost    = "vllm-0.vllm.llm-d.svc.cluster.local"
)

var plantedIdentities = []string{
	podDeploy, podNamespaced, podInKey, podScorerType, podStatefulSet, podStatefulKey,
	ipv4Bare, ipv4WithPort, ipv4InURL, ipv6Bare, ipv6WithPort, dnsHost, clusterHost,
}

// Keys outside the schema, as upstream's scheduler and careless
// instrumentations emit them. They are deliberately not schema constants:
// they are the violations (or, on upstream spans, the tolerated extras).
const (
	keyTopEndpoints  = schema.AttrPickerTopEndpoints
	keyPickedPod     = "llm_d.epp.picker.picked_endpoint"
	keyTargetURL     = "llm_d.epp.picker.target_url"
	keyPickerType    = "llm_d.epp.picker.type"
	keyFilterKept    = "llm_d.epp.filter.kept"
	keyFilterPods    = "llm_d.epp.filter.kept_pods"
	keyBestEndpoint  = "llm_d.epp.prefix_cache.best_endpoint"
	keyScoringDebug  = "llm_d.epp.scoring.debug"
	keyServerAddress = "server.address"
	keyPodName       = "k8s.pod.name"
	keyPodIP         = "k8s.pod.ip"
	keyURLFull       = "url.full"
	keyServiceName   = "service.name"
)

// perEndpointScoreKey is a per-endpoint score in the schema's own score
// namespace ("llm_d.epp.scorer.score.<pod>"), derived from the schema so the
// two cannot drift apart.
var perEndpointScoreKey = strings.TrimSuffix(schema.AttrScoreMax, "max") + podInKey

// Allowed values that look a little like endpoints and must pass.
var models = []string{"meta-llama/llama-3.1-8b-instruct", "Qwen/Qwen2.5-7B-Instruct"}

const (
	crafted         = 4 // requests
	pickerModel     = "llama-3"
	pickerType      = "max-score-picker"
	routeSpanName   = "POST /v1/chat/completions"
	spansPerRequest = 9
	inScopePerReq   = 8 // all but the route span
)

func requestID(i int) string { return fmt.Sprintf("7c9e6679-7425-40de-944b-e07fc1f9%04x", i) }

type scorerSpec struct {
	typ, name string
	weight    float64
	dur       time.Duration
	// wrongType sends the candidate count as a string, as a buggy
	// instrumentation might: the schema says int.
	wrongType bool
}

var craftedScorers = []scorerSpec{
	{"prefix-cache-scorer", "prefix-cache-scorer", 3, 180 * time.Microsecond, false},
	{"queue-scorer", "queue-scorer-a", 1, 12 * time.Microsecond, false},
	{"queue-scorer", "queue-scorer-b", 2, 30 * time.Microsecond, true},
	{podScorerType, "per-pod-scorer", 1, 60 * time.Microsecond, false},
}

// craftedTraces builds the requests' spans in two payloads: children first,
// the scoring parents (which carry the model) in a later one, as an SDK
// that exports spans as they end does.
func craftedTraces() (children, parents ptrace.Traces, routeAttrs []map[string]any) {
	children, parents = ptrace.NewTraces(), ptrace.NewTraces()
	newScope := func(td ptrace.Traces) ptrace.SpanSlice {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr(keyServiceName, "crafted-epp")
		rs.Resource().Attributes().PutStr(keyPodIP, "10.0.9.9") // the sender's own pod: left alone
		return rs.ScopeSpans().AppendEmpty().Spans()
	}
	cs, ps := newScope(children), newScope(parents)
	base := time.Now().Add(-time.Minute)
	for i := range crafted {
		tid := pcommon.TraceID{0xe2, 0xe0, byte(i + 1)}
		sid := func(n int) pcommon.SpanID { return pcommon.SpanID{0x5c, byte(i + 1), byte(n)} }
		start := base.Add(time.Duration(i) * time.Second)
		add := func(dst ptrace.SpanSlice, n, parent int, name string, d time.Duration) ptrace.Span {
			s := dst.AppendEmpty()
			s.SetTraceID(tid)
			s.SetSpanID(sid(n))
			if parent > 0 {
				s.SetParentSpanID(sid(parent))
			}
			s.SetName(name)
			s.SetKind(ptrace.SpanKindInternal)
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
			return s
		}
		model := models[i%len(models)]

		route := add(cs, 1, 0, routeSpanName, 5*time.Millisecond)
		route.SetKind(ptrace.SpanKindServer)
		route.Attributes().PutStr(keyServerAddress, ipv4Bare)
		route.Attributes().PutStr(keyPodName, podDeploy)
		route.Attributes().PutStr(keyURLFull, "http://"+ipv4InURL+":8000/v1/completions")
		routeAttrs = append(routeAttrs, route.Attributes().AsRaw())

		for j, sc := range craftedScorers {
			s := add(cs, 10+j, 2, schema.ScorerSpanPrefix+sc.typ, sc.dur)
			a := s.Attributes()
			a.PutStr(schema.AttrScorerType, sc.typ)
			a.PutStr(schema.AttrScorerName, sc.name)
			a.PutDouble(schema.AttrScorerWeight, sc.weight)
			if sc.wrongType {
				a.PutStr(schema.AttrScorerCandidates, "8")
			} else {
				a.PutInt(schema.AttrScorerCandidates, 8)
			}
			a.PutDouble(schema.AttrScoreMax, 0.9)
			a.PutDouble(schema.AttrScoreAvg, 0.4)
			a.PutInt(schema.AttrEndpointsScored, 8)
			if j == 0 {
				// A per-endpoint score key, and an event naming endpoints.
				a.PutDouble(perEndpointScoreKey, 0.9)
				ev := s.Events().AppendEmpty()
				ev.SetName("cache-lookup")
				ev.Attributes().PutStr("endpoint", ipv4WithPort+":8000")
				ev.Attributes().PutStr(keyServerAddress, clusterHost+":8000")
				pc := add(cs, 20, 10, schema.SpanScorePrefixCache, 100*time.Microsecond)
				pc.Attributes().PutInt(schema.AttrPrefixBlocks, 86)
				pc.Attributes().PutStr(keyBestEndpoint, podDeploy)
			}
		}
		filter := add(cs, 3, 1, schema.SpanFilterEndpoints, 20*time.Microsecond)
		filter.Attributes().PutInt(keyFilterKept, 3)
		filter.Attributes().PutStr(keyFilterPods, podStatefulKey)

		pick := add(cs, 4, 1, schema.SpanPickEndpoints, 15*time.Microsecond)
		pa := pick.Attributes()
		top := pa.PutEmptySlice(keyTopEndpoints)
		for _, e := range []string{podDeploy, podStatefulSet, ipv4WithPort + ":8000", ipv6Bare} {
			top.AppendEmpty().SetStr(e)
		}
		pa.PutStr(keyPickedPod, "llm-d/"+podNamespaced)
		pa.PutStr(keyTargetURL, "https://"+dnsHost+":8443/v1")
		pa.PutStr(keyPickerType, pickerType)
		pa.PutStr(schema.AttrRequestModel, pickerModel)
		pa.PutStr(schema.AttrRequestID, requestID(i))
		ev := pick.Events().AppendEmpty()
		ev.SetName("picked")
		ev.Attributes().PutStr("peer", "["+ipv6WithPort+"]:8000")

		scoring := add(ps, 2, 1, schema.SpanScoring, 400*time.Microsecond)
		sa := scoring.Attributes()
		sa.PutInt(schema.AttrScorerCount, int64(len(craftedScorers)))
		sa.PutInt(schema.AttrScoringCandidates, 8)
		sa.PutStr(schema.AttrRequestModel, model)
		sa.PutStr(schema.AttrRequestID, requestID(i))
		sa.PutStr(keyScoringDebug, "warm")
		sa.PutStr(keyServerAddress, ipv6Bare)
	}
	return children, parents, routeAttrs
}

func postTraces(t *testing.T, hostport string, td ptrace.Traces) {
	t.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+hostport+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST /v1/traces: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /v1/traces: %s: %s", resp.Status, b)
	}
}

// TestCraftedPayloads sends spans with every kind of per-endpoint attribute
// over OTLP/HTTP and checks what leaves the collector: nothing in scope
// names an endpoint, everything allowed is kept, spans out of scope and
// resources pass untouched, the connector counts every scorer span under its
// parent's model, and the processor's own metrics count the removals by reason.
func TestCraftedPayloads(t *testing.T) {
	c := startCollector(t)
	children, parents, routeAttrs := craftedTraces()
	postTraces(t, c.http, children)
	postTraces(t, c.http, parents)

	var spans []span
	eventually(t, 30*time.Second, "every crafted span exported", func() (bool, string) {
		spans = c.exportedSpans(t)
		return len(spans) == crafted*spansPerRequest, strconv.Itoa(len(spans)) + " spans exported"
	})

	byName := map[string][]span{}
	for _, s := range spans {
		byName[s.Name()] = append(byName[s.Name()], s)
		if inScope(s.Name()) {
			for _, leak := range endpointLeaks(s, plantedIdentities) {
				t.Errorf("span %s: %s", s.Name(), leak)
			}
		}
		if got := s.resource.Attributes().AsRaw(); !reflect.DeepEqual(got, map[string]any{keyServiceName: "crafted-epp", keyPodIP: "10.0.9.9"}) {
			t.Errorf("resource attributes changed: %v", got)
		}
	}
	checkCraftedSpans(t, byName, routeAttrs)

	// The connector: one series per scorer type and name, counting exactly the
	// exported scorer spans, each under its parent's model though the parent
	// came in a later payload.
	fams := c.waitScorerCounts(t, scorerSpans(spans))
	rows, err := fams.HistogramBy(scorerMetric, typeLabel, nameLabel, modelLabel)
	if err != nil {
		t.Fatal(err)
	}
	gotByModel := map[string]int{}
	for _, r := range rows {
		gotByModel[fmt.Sprint(r.Labels)] = int(r.Count)
	}
	wantByModel := map[string]int{}
	for i := range crafted {
		for _, sc := range craftedScorers {
			typ := sc.typ
			if typ == podScorerType {
				typ, _ = schema.ScorerType(schema.ScorerSpanOverflow)
			}
			wantByModel[fmt.Sprint([]string{typ, sc.name, models[i%len(models)]})]++
		}
	}
	if !reflect.DeepEqual(gotByModel, wantByModel) {
		t.Errorf("scorer series by type, name, model:\n got %v\nwant %v", gotByModel, wantByModel)
	}

	// The processor's own metrics: every span in scope checked, removals by reason.
	c.checkProcessorCounts(t, "attributes_removed", "spans_renamed", "attributes_reported", "spans_reported")
}

// checkCraftedSpans checks that every allowed attribute survived and the
// violations are gone.
func checkCraftedSpans(t *testing.T, byName map[string][]span, routeAttrs []map[string]any) {
	t.Helper()
	want := func(name string, n int) []span {
		if got := len(byName[name]); got != n {
			t.Errorf("exported %d spans named %q, want %d", got, name, n)
		}
		return byName[name]
	}
	has := func(s span, key string, want any) {
		t.Helper()
		v, ok := s.Attributes().Get(key)
		if !ok {
			t.Errorf("span %s lacks attribute %s (want %v)", s.Name(), key, want)
			return
		}
		if got := v.AsRaw(); !reflect.DeepEqual(got, want) {
			t.Errorf("span %s: %s = %v, want %v", s.Name(), key, got, want)
		}
	}
	absent := func(s span, key string) {
		t.Helper()
		if _, ok := s.Attributes().Get(key); ok {
			t.Errorf("span %s still has %s", s.Name(), key)
		}
	}
	index := func(s span) int { return int(s.TraceID()[2]) - 1 }

	for _, s := range want(routeSpanName, crafted) {
		// Out of scope: untouched, endpoint identities included.
		if got := s.Attributes().AsRaw(); !reflect.DeepEqual(got, routeAttrs[index(s)]) {
			t.Errorf("out-of-scope span changed:\n got %v\nwant %v", got, routeAttrs[index(s)])
		}
	}
	for _, s := range want(schema.SpanScoring, crafted) {
		i := index(s)
		has(s, schema.AttrRequestModel, models[i%len(models)])
		has(s, schema.AttrRequestID, requestID(i))
		has(s, schema.AttrScorerCount, int64(len(craftedScorers)))
		has(s, schema.AttrScoringCandidates, int64(8))
		absent(s, keyScoringDebug)
		absent(s, keyServerAddress)
		// The processor's summary counts what it removed: those two keys.
		has(s, schema.AttrRedactedCount, int64(2))
	}
	for j, sc := range craftedScorers {
		name := schema.ScorerSpanPrefix + sc.typ
		if sc.typ == podScorerType {
			name = schema.ScorerSpanOverflow
		}
		n := 0
		for _, s := range byName[name] {
			if v, _ := s.Attributes().Get(schema.AttrScorerName); v.Str() != sc.name {
				continue
			}
			n++
			if sc.typ != podScorerType {
				has(s, schema.AttrScorerType, sc.typ)
			}
			has(s, schema.AttrScorerWeight, sc.weight)
			if sc.wrongType {
				absent(s, schema.AttrScorerCandidates)
			} else {
				has(s, schema.AttrScorerCandidates, int64(8))
			}
			has(s, schema.AttrScoreMax, 0.9)
			has(s, schema.AttrScoreAvg, 0.4)
			has(s, schema.AttrEndpointsScored, int64(8))
			switch {
			case sc.typ == podScorerType:
				// Renamed; what it loses besides its name is the processor's unit tests' business.
			case j == 0:
				// The per-endpoint score key and both attributes of its event.
				has(s, schema.AttrRedactedCount, int64(3))
			case sc.wrongType:
				has(s, schema.AttrRedactedCount, int64(1))
			default:
				absent(s, schema.AttrRedactedCount) // a clean span gets no summary
			}
		}
		if n != crafted {
			t.Errorf("exported %d spans %s named %s, want %d", n, name, sc.name, crafted)
		}
	}
	for _, s := range want(schema.SpanScorePrefixCache, crafted) {
		has(s, schema.AttrPrefixBlocks, int64(86))
	}
	for _, s := range want(schema.SpanFilterEndpoints, crafted) {
		has(s, keyFilterKept, int64(3))
	}
	for _, s := range want(schema.SpanPickEndpoints, crafted) {
		// An upstream span: its own keys stay, only endpoint values go; a
		// model name shaped like a StatefulSet pod is still a model.
		has(s, keyPickerType, pickerType)
		has(s, schema.AttrRequestModel, pickerModel)
		has(s, schema.AttrRequestID, requestID(index(s)))
	}
}

// TestReportModeChangesNothing runs the processor in report mode, the safe
// rollout: every crafted span leaves exactly as it came, and the violations
// show up in the collector's own metrics only.
func TestReportModeChangesNothing(t *testing.T) {
	c := startCollector(t, "SCORELENS_E2E_MODE=report")
	children, parents, _ := craftedTraces()
	sent := map[[24]byte]span{}
	for _, td := range []ptrace.Traces{children, parents} {
		for _, rs := range td.ResourceSpans().All() {
			for _, s := range rs.ScopeSpans().At(0).Spans().All() {
				sent[spanKey(s)] = span{Span: s, resource: rs.Resource()}
			}
		}
	}
	postTraces(t, c.http, children)
	postTraces(t, c.http, parents)

	var spans []span
	eventually(t, 30*time.Second, "every crafted span exported", func() (bool, string) {
		spans = c.exportedSpans(t)
		return len(spans) == len(sent), strconv.Itoa(len(spans)) + " spans exported"
	})
	for _, got := range spans {
		want, ok := sent[spanKey(got.Span)]
		if !ok {
			t.Errorf("exported span %s was never sent", got.Name())
			continue
		}
		if got.Name() != want.Name() {
			t.Errorf("span renamed %q -> %q in report mode", want.Name(), got.Name())
		}
		if g, w := got.Attributes().AsRaw(), want.Attributes().AsRaw(); !reflect.DeepEqual(g, w) {
			t.Errorf("span %s changed in report mode:\n got %v\nwant %v", want.Name(), g, w)
		}
		for i, e := range got.Events().All() {
			if g, w := e.Attributes().AsRaw(), want.Events().At(i).Attributes().AsRaw(); !reflect.DeepEqual(g, w) {
				t.Errorf("span %s event %s changed in report mode:\n got %v\nwant %v", want.Name(), e.Name(), g, w)
			}
		}
	}

	c.checkProcessorCounts(t, "attributes_reported", "spans_reported", "attributes_removed", "spans_renamed")
}

// checkProcessorCounts checks the processor's own metrics after the crafted
// payloads: every span in scope checked, every kind of attribute violation
// and the endpoint-named scorer type counted under the mode's metrics
// (attrs, spans), and nothing under the other mode's (otherAttrs, otherSpans).
func (c *collector) checkProcessorCounts(t *testing.T, attrs, spans, otherAttrs, otherSpans string) {
	t.Helper()
	eventually(t, 10*time.Second, "processor counted every span in scope", func() (bool, string) {
		got := counter(c.scrape(t, c.ownURL), processorPrefix+"spans_checked", nil)
		return int(got) == crafted*inScopePerReq, "spans_checked " + strconv.FormatFloat(got, 'f', -1, 64) +
			", want " + strconv.Itoa(crafted*inScopePerReq)
	})
	own := c.scrape(t, c.ownURL)
	for _, reason := range []string{"unknown_key", "wrong_type", "endpoint_key", "endpoint_value"} {
		if got := counter(own, processorPrefix+attrs, map[string]string{"reason": reason}); got <= 0 {
			t.Errorf("%s%s{reason=%q} = %v, want > 0", processorPrefix, attrs, reason, got)
		}
	}
	if got := counter(own, processorPrefix+spans, map[string]string{"reason": "endpoint_type"}); got != crafted {
		t.Errorf("%s%s{reason=\"endpoint_type\"} = %v, want %d", processorPrefix, spans, got, crafted)
	}
	for _, name := range []string{otherAttrs, otherSpans} {
		if got := counter(own, processorPrefix+name, nil); got != 0 {
			t.Errorf("%s%s = %v, want 0 in this mode", processorPrefix, name, got)
		}
	}
	if t.Failed() {
		for _, s := range own.WithPrefix(processorPrefix) {
			t.Logf("%s %v = %v", s.Name, s.Labels, s.Value)
		}
	}
}

func spanKey(s ptrace.Span) (k [24]byte) {
	tid, sid := s.TraceID(), s.SpanID()
	copy(k[:16], tid[:])
	copy(k[16:], sid[:])
	return k
}
