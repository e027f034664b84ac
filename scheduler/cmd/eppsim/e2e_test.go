package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/scorelens/scorelens/scheduler/cmd/eppsim/internal/workload"
	"github.com/scorelens/scorelens/scheduler/plugins/scorer"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// consoleSpan is the part of the stdout exporter's JSON span that the tests read.
type consoleSpan struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ TraceID, SpanID string }
	SpanKind    int
	Attributes  []struct {
		Key   string
		Value struct {
			Type  string
			Value json.RawMessage
		}
	}
	Resource []struct {
		Key   string
		Value struct{ Value json.RawMessage }
	}
}

const noSpanID = "0000000000000000"

// values returns an attribute's value as strings (each element of a slice).
func (s *consoleSpan) values(t *testing.T, i int) []string {
	raw := s.Attributes[i].Value.Value
	var list []any
	if err := json.Unmarshal(raw, &list); err == nil {
		out := make([]string, len(list))
		for j, v := range list {
			out[j] = fmt.Sprint(v)
		}
		return out
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("span %s attribute %s: value %s: %v", s.Name, s.Attributes[i].Key, raw, err)
	}
	return []string{fmt.Sprint(v)}
}

func (s *consoleSpan) keys() []string {
	keys := make([]string, len(s.Attributes))
	for i, a := range s.Attributes {
		keys[i] = a.Key
	}
	return keys
}

func (s *consoleSpan) attr(key string) (string, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			var v any
			_ = json.Unmarshal(a.Value.Value, &v)
			return fmt.Sprint(v), true
		}
	}
	return "", false
}

// parseConsole decodes stdout, failing unless every line is exactly one
// JSON object that is a span.
func parseConsole(t *testing.T, out []byte) []*consoleSpan {
	t.Helper()
	if len(out) == 0 || out[len(out)-1] != '\n' {
		t.Fatalf("stdout does not end with a newline: %q", out[max(0, len(out)-80):])
	}
	var spans []*consoleSpan
	for n, line := range bytes.Split(out[:len(out)-1], []byte("\n")) {
		dec := json.NewDecoder(bytes.NewReader(line))
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("line %d is not a JSON object: %v: %.200s", n+1, err, line)
		}
		if dec.More() {
			t.Fatalf("line %d holds more than one JSON value: %.200s", n+1, line)
		}
		var s consoleSpan
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatalf("line %d is not a span: %v", n+1, err)
		}
		if s.Name == "" || len(s.SpanContext.TraceID) != 32 || len(s.SpanContext.SpanID) != 16 {
			t.Fatalf("line %d is not a span: %.200s", n+1, line)
		}
		spans = append(spans, &s)
	}
	return spans
}

func TestConsoleTraceOfEveryRequest(t *testing.T) {
	const requests = 20
	cfg := config{requests: requests, endpoints: 8, seed: 1}
	var stdout, stderr bytes.Buffer
	env := mapEnv(map[string]string{envTracesExporter: "console"})
	if err := run(context.Background(), cfg, env, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	spans := parseConsole(t, stdout.Bytes())

	scorers, err := newScorers()
	if err != nil {
		t.Fatal(err)
	}
	type scorerID struct{ span, name string }
	var wantScorers []scorerID
	var prefixScorer scorerID
	for _, s := range scorers {
		id := scorerID{s.SpanName(), s.TypedName().Name}
		wantScorers = append(wantScorers, id)
		if s.TypedName().Type == scorer.PrefixCacheType {
			prefixScorer = id
		}
	}
	if prefixScorer.span == "" {
		t.Fatal("no prefix-cache scorer in the chain")
	}

	traces := map[string]map[string]*consoleSpan{} // trace id → span id → span
	for _, s := range spans {
		tr := traces[s.SpanContext.TraceID]
		if tr == nil {
			tr = map[string]*consoleSpan{}
			traces[s.SpanContext.TraceID] = tr
		}
		if tr[s.SpanContext.SpanID] != nil {
			t.Fatalf("span id %s twice in trace %s", s.SpanContext.SpanID, s.SpanContext.TraceID)
		}
		tr[s.SpanContext.SpanID] = s
	}
	if len(traces) != requests {
		t.Fatalf("%d traces, want one per request: %d", len(traces), requests)
	}

	prefixSpans := 0
	for id, tr := range traces {
		var root, scoring *consoleSpan
		children := map[string][]*consoleSpan{}
		for _, s := range tr {
			if s.Parent.SpanID == noSpanID {
				if root != nil {
					t.Fatalf("trace %s: two roots", id)
				}
				root = s
				continue
			}
			if s.Parent.TraceID != id {
				t.Errorf("trace %s: span %s has a parent in trace %s", id, s.Name, s.Parent.TraceID)
			}
			children[s.Parent.SpanID] = append(children[s.Parent.SpanID], s)
			if s.Name == schema.SpanScoring {
				if scoring != nil {
					t.Fatalf("trace %s: two %s spans", id, schema.SpanScoring)
				}
				scoring = s
			}
		}
		if root == nil || root.Name != spanGatewayRequest || root.SpanKind != int(trace.SpanKindServer) {
			t.Fatalf("trace %s: root %+v, want a server span %s", id, root, spanGatewayRequest)
		}
		model, ok := root.attr(schema.AttrRequestModel)
		if len(root.Attributes) != 1 || !ok || model == "" {
			t.Errorf("trace %s: root attribute keys %v, want only %s", id, root.keys(), schema.AttrRequestModel)
		}
		// Every span reaches the root through parents within the trace.
		for _, s := range tr {
			for p, hops := s, 0; p != root; hops++ {
				parent := tr[p.Parent.SpanID]
				if parent == nil || hops > len(tr) {
					t.Fatalf("trace %s: span %s does not reach the root", id, s.Name)
				}
				p = parent
			}
		}
		if scoring == nil {
			t.Fatalf("trace %s: no %s span", id, schema.SpanScoring)
		}
		if got, _ := scoring.attr(schema.AttrRequestModel); got != model {
			t.Errorf("trace %s: scoring span model %q, root %q", id, got, model)
		}
		if got, _ := scoring.attr(schema.AttrScorerCount); got != strconv.Itoa(len(scorers)) {
			t.Errorf("trace %s: %s = %s, want %d", id, schema.AttrScorerCount, got, len(scorers))
		}

		var gotScorers []scorerID
		for _, c := range children[scoring.SpanContext.SpanID] {
			if schema.Classify(c.Name) != schema.Scorer {
				continue
			}
			name, _ := c.attr(schema.AttrScorerName)
			typ, _ := c.attr(schema.AttrScorerType)
			if c.Name != schema.ScorerSpanPrefix+typ {
				t.Errorf("trace %s: span %s has scorer type %q", id, c.Name, typ)
			}
			sid := scorerID{c.Name, name}
			gotScorers = append(gotScorers, sid)
			for _, g := range children[c.SpanContext.SpanID] {
				if g.Name == schema.SpanScorePrefixCache {
					prefixSpans++
					if sid != prefixScorer {
						t.Errorf("trace %s: %s under %s, want under %s", id, g.Name, c.Name, prefixScorer.span)
					}
				}
			}
		}
		sortIDs := func(ids []scorerID) {
			slices.SortFunc(ids, func(a, b scorerID) int { return strings.Compare(a.span+a.name, b.span+b.name) })
		}
		sortIDs(gotScorers)
		want := slices.Clone(wantScorers)
		sortIDs(want)
		if !slices.Equal(gotScorers, want) {
			t.Errorf("trace %s: scorer spans %v, want one per configured scorer %v", id, gotScorers, want)
		}
		for _, s := range tr {
			if s.Name == schema.SpanScorePrefixCache && tr[s.Parent.SpanID].Name != prefixScorer.span {
				t.Errorf("trace %s: %s is not a child of %s", id, s.Name, prefixScorer.span)
			}
		}
	}
	// Every request is sampled, so the prefix scorer traced each one.
	if prefixSpans != requests {
		t.Errorf("%d %s spans for %d requests", prefixSpans, schema.SpanScorePrefixCache, requests)
	}
	assertSchemaSpans(t, spans)

	assertNoEndpointLeaks(t, cfg, spans)

	for _, s := range spans[:1] {
		if v, ok := resourceAttr(s, string(semconv.ServiceNameKey)); !ok || v != defaultServiceName {
			t.Errorf("service.name %q, want %q", v, defaultServiceName)
		}
	}
	summary := stderr.String()
	for _, want := range []string{fmt.Sprintf("eppsim: %d requests (0 failed)", requests), "requests/s", "p50", "p99", "picks per endpoint"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if strings.Contains(summary, schema.SpanScoring) {
		t.Error("spans leaked into stderr")
	}
}

// assertSchemaSpans checks every scoring and scorer span: kind Internal,
// and only keys the schema allows there, with the schema's value type. (A
// NaN cannot reach here: the exporter's JSON encoding would drop the span,
// which the tree checks catch.)
func assertSchemaSpans(t *testing.T, spans []*consoleSpan) {
	t.Helper()
	otelType := map[schema.Type]string{schema.TypeString: "STRING", schema.TypeInt: "INT64", schema.TypeFloat: "FLOAT64", schema.TypeBool: "BOOL"}
	for _, s := range spans {
		kind := schema.Classify(s.Name)
		if kind == schema.NotSchema {
			continue
		}
		if s.SpanKind != int(trace.SpanKindInternal) {
			t.Errorf("%s: kind %d, want Internal", s.Name, s.SpanKind)
		}
		for _, a := range s.Attributes {
			want := schema.KeyType(kind, a.Key)
			if want == schema.TypeNone {
				t.Errorf("%s: attribute %s is not in the schema", s.Name, a.Key)
				continue
			}
			if a.Value.Type != otelType[want] {
				t.Errorf("%s: %s has type %s, want %s", s.Name, a.Key, a.Value.Type, otelType[want])
			}
		}
	}
}

func resourceAttr(s *consoleSpan, key string) (string, bool) {
	for _, a := range s.Resource {
		if a.Key == key {
			var v string
			_ = json.Unmarshal(a.Value.Value, &v)
			return v, true
		}
	}
	return "", false
}

// assertNoEndpointLeaks checks every attribute value of every span against
// every endpoint's pod name, address, host:port and namespaced name.
func assertNoEndpointLeaks(t *testing.T, cfg config, spans []*consoleSpan) {
	t.Helper()
	fl, _, err := newFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ep := range fl.Endpoints() {
		md := ep.Metadata
		ids = append(ids, md.Name, md.Address, md.ID, md.Address+":"+strconv.Itoa(md.Port))
	}
	for _, s := range spans {
		for i, a := range s.Attributes {
			for _, v := range s.values(t, i) {
				for _, id := range ids {
					if v == id || strings.Contains(v, id) {
						t.Errorf("span %s attribute %s = %q names endpoint %q", s.Name, a.Key, v, id)
					}
				}
			}
			for _, id := range ids {
				if strings.Contains(a.Key, id) {
					t.Errorf("span %s attribute key %q names endpoint %q", s.Name, a.Key, id)
				}
			}
		}
	}
}

func TestDurationEndsUnlimitedRunAndFlushes(t *testing.T) {
	cfg := config{requests: 0, endpoints: 4, rate: 200, duration: 150 * time.Millisecond, seed: 3}
	var stdout, stderr bytes.Buffer
	began := time.Now()
	if err := run(context.Background(), cfg, mapEnv(map[string]string{envTracesExporter: "console"}), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < cfg.duration {
		t.Errorf("run took %v, want at least the duration %v", took, cfg.duration)
	}
	roots, scoring := 0, 0
	for _, s := range parseConsole(t, stdout.Bytes()) {
		switch s.Name {
		case spanGatewayRequest:
			roots++
		case schema.SpanScoring:
			scoring++
		}
	}
	// Every request started was finished and flushed: as many scoring
	// spans as roots, and as many as the summary counts.
	if roots == 0 || roots != scoring {
		t.Errorf("%d roots and %d scoring spans after the duration", roots, scoring)
	}
	if want := fmt.Sprintf("eppsim: %d requests", roots); !strings.Contains(stderr.String(), want) {
		t.Errorf("summary does not say %q:\n%s", want, stderr.String())
	}
}

func TestCancelledRunStillFlushes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if SIGINT arrived at once
	var stdout, stderr bytes.Buffer
	err := run(ctx, config{requests: 100, endpoints: 4, seed: 1}, mapEnv(map[string]string{envTracesExporter: "console"}), &stdout, &stderr)
	if err != nil {
		t.Fatalf("run after a signal: %v", err)
	}
	if !strings.Contains(stderr.String(), "eppsim: 0 requests") {
		t.Errorf("summary:\n%s", stderr.String())
	}
}

func TestRatePacesWallTime(t *testing.T) {
	cfg := config{requests: 10, endpoints: 2, rate: 100, seed: 1}
	began := time.Now()
	if err := run(context.Background(), cfg, mapEnv(map[string]string{envTracesExporter: "none"}), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// The tenth request is due 90 ms after the first.
	if took := time.Since(began); took < 90*time.Millisecond {
		t.Errorf("10 requests at 100/s took %v", took)
	}
}

func TestBadEnvironmentFailsRun(t *testing.T) {
	err := run(context.Background(), config{requests: 1, endpoints: 1, seed: 1},
		mapEnv(map[string]string{envTracesExporter: "zipkin"}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `"zipkin"`) {
		t.Errorf("error %v, want one naming the value", err)
	}
}

func TestSameSeedSamePicks(t *testing.T) {
	picks := func(seed uint64) []int {
		sim, err := newSimulation(config{requests: 300, endpoints: 12, seed: seed}, noop.NewTracerProvider())
		if err != nil {
			t.Fatal(err)
		}
		sim.run(context.Background())
		if sim.stats.failed != 0 {
			t.Fatalf("%d requests failed: %v", sim.stats.failed, sim.stats.firstErr)
		}
		return sim.stats.picks
	}
	a, b, c := picks(5), picks(5), picks(6)
	if !slices.Equal(a, b) {
		t.Errorf("seed 5 picked %v, then %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 5 and 6 picked alike: %v", a)
	}
	spread := 0
	for _, n := range a {
		if n > 0 {
			spread++
		}
	}
	if spread < len(a)/2 {
		t.Errorf("picks %v: most endpoints never picked", a)
	}
}

func TestFleetSizedForTraffic(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 16, 100, maxEndpoints} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			fl, gen, err := newFleet(config{endpoints: n, seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(fl.Endpoints()); got != n {
				t.Fatalf("%d endpoints, want %d", got, n)
			}
			traffic := gen.Traffic()
			if want := min(n, len(workload.Catalog())); len(fl.Models()) != want || len(traffic) != want {
				t.Fatalf("%d pools for %d families of traffic, want %d", len(fl.Models()), len(traffic), want)
			}
			for _, m := range fl.Models() {
				got := len(fl.Candidates(m))
				want := traffic[m] * float64(n)
				if got < 1 || math.Abs(float64(got)-want) > 1 {
					t.Errorf("%s: %d endpoints for %.1f endpoints' worth of traffic", m, got, want)
				}
			}
		})
	}
}

func TestApportion(t *testing.T) {
	tests := []struct {
		n      int
		shares []float64
		want   []int
	}{
		{1, []float64{1}, []int{1}},
		{2, []float64{0.9, 0.1}, []int{1, 1}},
		{10, []float64{0.5, 0.5}, []int{5, 5}},
		{10, []float64{0.86, 0.14}, []int{9, 1}},
		{3, []float64{0.95, 0.05}, []int{2, 1}},
		{4, []float64{0.97, 0.01, 0.02}, []int{2, 1, 1}},
		{7, []float64{1, 1, 1}, []int{3, 2, 2}},
	}
	for _, tt := range tests {
		if got := apportion(tt.n, tt.shares); !slices.Equal(got, tt.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tt.n, tt.shares, got, tt.want)
		}
	}
}
