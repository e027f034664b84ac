package scheduler_test

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler"
	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
	"github.com/scorelens/scorelens/scheduler/schema"
)

const internalSpanName = "fake.score_internal"

func newRecorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

func mustWeighted(t testing.TB, s framework.Scorer, w float64) *scheduler.WeightedScorer {
	t.Helper()
	ws, err := scheduler.NewWeightedScorer(s, w)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func mustProfile(t testing.TB, name string, filters []framework.Filter, scorers []*scheduler.WeightedScorer, p framework.Picker, opts ...scheduler.Option) *scheduler.Profile {
	t.Helper()
	prof, err := scheduler.NewProfile(name, filters, scorers, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return prof
}

// attrMap renders a span's attributes as key → value, failing on a key
// seen twice.
func attrMap(t *testing.T, s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	t.Helper()
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		if _, dup := m[string(kv.Key)]; dup {
			t.Errorf("span %s: attribute %s set twice", s.Name(), kv.Key)
		}
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func TestSpanTree(t *testing.T) {
	tp, rec := newRecorder(t)
	// 5 endpoints; a writes raw scores that need clamping and one NaN.
	raw := []float64{0.2, 1.5, -1, math.NaN(), 0.5}
	a := newFakeScorer("a-scorer", "a1", func(i int, _ framework.Endpoint) float64 { return raw[i] })
	a.internalSpan = internalSpanName
	empty := newFakeScorer("b-scorer", "b1", func(int, framework.Endpoint) float64 { return framework.NoScore })
	prof := mustProfile(t, "default", nil,
		[]*scheduler.WeightedScorer{mustWeighted(t, a, 2), mustWeighted(t, empty, 0.5)},
		&maxPicker{}, scheduler.WithTracerProvider(tp))

	tests := []struct {
		name      string
		req       framework.InferenceRequest
		wantModel bool
		wantID    bool
	}{
		{"model and id", framework.InferenceRequest{RequestID: "req-42", TargetModel: "llama-3"}, true, true},
		{"model only", framework.InferenceRequest{TargetModel: "llama-3"}, true, false},
		{"neither", framework.InferenceRequest{}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			if _, err := prof.Run(context.Background(), &tc.req, testfleet.Upstream(5, "llama-3")); err != nil {
				t.Fatal(err)
			}
			spans := rec.Ended()
			if len(spans) != 7 {
				t.Fatalf("got %d spans, want 7 (profile, filter, parent, 2 scorers, 1 internal, pick)", len(spans))
			}
			byName := map[string]sdktrace.ReadOnlySpan{}
			for _, s := range spans {
				byName[s.Name()] = s
			}
			parent := byName[schema.SpanScoring]
			childA := byName[schema.ScorerSpanPrefix+"a-scorer"]
			childB := byName[schema.ScorerSpanPrefix+"b-scorer"]
			internal := byName[internalSpanName]
			profile := byName[schema.SpanRunSchedulerProfile]
			filterSpan := byName[schema.SpanFilterEndpoints]
			pick := byName[schema.SpanPickEndpoints]
			if parent == nil || childA == nil || childB == nil || internal == nil || profile == nil || filterSpan == nil || pick == nil {
				t.Fatalf("missing span among %v", byName)
			}
			for _, s := range []sdktrace.ReadOnlySpan{filterSpan, parent, pick} {
				if s.Parent().SpanID() != profile.SpanContext().SpanID() {
					t.Errorf("%s not nested under %s", s.Name(), schema.SpanRunSchedulerProfile)
				}
			}
			if profile.Parent().IsValid() {
				t.Errorf("%s has a parent in a request without one", profile.Name())
			}
			for _, s := range []sdktrace.ReadOnlySpan{profile, filterSpan, parent, childA, childB, pick} {
				if s.SpanKind() != trace.SpanKindInternal {
					t.Errorf("%s: kind %v, want Internal", s.Name(), s.SpanKind())
				}
			}
			for _, c := range []sdktrace.ReadOnlySpan{childA, childB} {
				if c.Parent().SpanID() != parent.SpanContext().SpanID() {
					t.Errorf("%s not nested under %s", c.Name(), schema.SpanScoring)
				}
			}
			if internal.Parent().SpanID() != childA.SpanContext().SpanID() {
				t.Errorf("scorer's own span not nested under its scorer span")
			}
			if childB.StartTime().Before(childA.EndTime()) {
				t.Errorf("scorer spans overlap: the chain is sequential")
			}

			wantParent := map[string]attribute.Value{
				schema.AttrScorerCount:       attribute.IntValue(2),
				schema.AttrScoringCandidates: attribute.IntValue(5),
			}
			// The decision (schema/decision.go): totals 0.4, 2, 0, 0, 1,
			// endpoint 1 alone on top, 1 below it, weights summing to 2.5.
			wantDecision := map[string]attribute.Value{
				schema.AttrScoringTied:   attribute.IntValue(1),
				schema.AttrScoringMargin: attribute.Float64Value((2.0 - 1) / 2.5),
			}
			if tc.wantModel {
				wantParent[schema.AttrRequestModel] = attribute.StringValue(tc.req.TargetModel)
			}
			if tc.wantID {
				wantParent[schema.AttrRequestID] = attribute.StringValue(tc.req.RequestID)
			}
			assertAttrs(t, parent, with(wantParent, wantDecision))
			// Raw, as upstream: 0.2, 1.5, -1, (NaN skipped), 0.5.
			assertAttrs(t, childA, map[string]attribute.Value{
				schema.AttrScorerType:       attribute.StringValue("a-scorer"),
				schema.AttrScorerName:       attribute.StringValue("a1"),
				schema.AttrScorerWeight:     attribute.Float64Value(2),
				schema.AttrScorerCandidates: attribute.IntValue(5),
				schema.AttrScoreMax:         attribute.Float64Value(1.5),
				schema.AttrScoreAvg:         attribute.Float64Value((0.2 + 1.5 - 1 + 0.5) / 4),
				schema.AttrEndpointsScored:  attribute.IntValue(4),
				// without a every total is 0: all five would tie
				schema.AttrScorerDecisive: attribute.BoolValue(true),
			})
			// Upstream's siblings, with the same request attributes; the
			// totals are clamped and weighted: 0.4, 2, 0, 0, 1.
			wantReq := map[string]attribute.Value{}
			for k, v := range wantParent {
				if k == schema.AttrRequestModel || k == schema.AttrRequestID {
					wantReq[k] = v
				}
			}
			assertUpstreamAttrs(t, profile, map[string]attribute.Value{schema.AttrProfileName: attribute.StringValue("default")})
			assertUpstreamAttrs(t, filterSpan, with(wantReq, map[string]attribute.Value{
				schema.AttrFilterCandidates: attribute.IntValue(5),
				schema.AttrFilterFiltered:   attribute.IntValue(5),
			}))
			assertUpstreamAttrs(t, pick, with(wantReq, map[string]attribute.Value{
				schema.AttrPickerCandidates: attribute.IntValue(5),
				schema.AttrPickerTopScores:  attribute.Float64SliceValue([]float64{2, 1, 0.4, 0, 0}),
			}))
			// The empty result: identity only, no aggregate, no NaN.
			assertAttrs(t, childB, map[string]attribute.Value{
				schema.AttrScorerType:       attribute.StringValue("b-scorer"),
				schema.AttrScorerName:       attribute.StringValue("b1"),
				schema.AttrScorerWeight:     attribute.Float64Value(0.5),
				schema.AttrScorerCandidates: attribute.IntValue(5),
				// it added nothing, so nothing changes without it
				schema.AttrScorerDecisive: attribute.BoolValue(false),
			})
		})
	}
}

func assertAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]attribute.Value) {
	t.Helper()
	got := attrMap(t, s)
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: missing %s", s.Name(), k)
		case g.Type() != w.Type():
			t.Errorf("%s: %s has type %v, want %v", s.Name(), k, g.Type(), w.Type())
		case g.Type() == attribute.FLOAT64 && math.Abs(g.AsFloat64()-w.AsFloat64()) > 1e-12:
			t.Errorf("%s: %s = %v, want %v", s.Name(), k, g.AsFloat64(), w.AsFloat64())
		case g.Type() != attribute.FLOAT64 && g != w:
			t.Errorf("%s: %s = %s, want %s", s.Name(), k, g.Emit(), w.Emit())
		}
		if g.Type() == attribute.FLOAT64 && math.IsNaN(g.AsFloat64()) {
			t.Errorf("%s: %s is NaN", s.Name(), k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected attribute %s = %s", s.Name(), k, got[k].Emit())
		}
		if schema.KeyType(schema.Classify(s.Name()), k) == schema.TypeNone {
			t.Errorf("%s: attribute %s is not in the schema", s.Name(), k)
		}
	}
}

// with returns the union of two attribute sets.
func with(a, b map[string]attribute.Value) map[string]attribute.Value {
	out := map[string]attribute.Value{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// assertUpstreamAttrs checks the attributes of one of upstream's sibling
// spans: exactly want, and every key among upstream's for that span.
func assertUpstreamAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]attribute.Value) {
	t.Helper()
	got := attrMap(t, s)
	if len(got) != len(want) {
		t.Errorf("%s: attributes %v, want %v", s.Name(), got, want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g.Emit() != w.Emit() || g.Type() != w.Type() {
			t.Errorf("%s: %s = %v (present %v), want %s", s.Name(), k, g.Emit(), ok, w.Emit())
		}
	}
	upstream := map[string]bool{}
	for _, a := range schema.UpstreamAttributes(s.Name()) {
		upstream[a.Key] = true
	}
	for k := range got {
		if !upstream[k] {
			t.Errorf("%s: %s is not among upstream's keys", s.Name(), k)
		}
	}
}

func TestSameTypeTwiceToldApartByName(t *testing.T) {
	tp, rec := newRecorder(t)
	q1 := newFakeScorer("queue-scorer", "queue-short", queueScore)
	q2 := newFakeScorer("queue-scorer", "queue-long", queueScore)
	prof := mustProfile(t, "default", nil,
		[]*scheduler.WeightedScorer{mustWeighted(t, q1, 1), mustWeighted(t, q2, 3)},
		&maxPicker{}, scheduler.WithTracerProvider(tp))
	if _, err := prof.Run(context.Background(), &framework.InferenceRequest{}, testfleet.Upstream(4, "m")); err != nil {
		t.Fatal(err)
	}
	names := map[string]float64{}
	for _, s := range rec.Ended() {
		if s.Name() != schema.ScorerSpanPrefix+"queue-scorer" {
			continue
		}
		m := attrMap(t, s)
		names[m[schema.AttrScorerName].AsString()] = m[schema.AttrScorerWeight].AsFloat64()
	}
	if len(names) != 2 || names["queue-short"] != 1 || names["queue-long"] != 3 {
		t.Errorf("scorer spans by name (→ weight) = %v, want queue-short→1 and queue-long→3", names)
	}
}

// leaks returns every attribute key or value (and span name) that names
// an endpoint of the fleet.
func leaks(spans []sdktrace.ReadOnlySpan, eps []framework.Endpoint) []string {
	var found []string
	for _, s := range spans {
		texts := []string{s.Name()}
		for _, kv := range s.Attributes() {
			texts = append(texts, string(kv.Key), kv.Value.Emit())
		}
		for _, ep := range eps {
			md := ep.GetMetadata()
			ids := []string{md.ID, md.Name, md.Address, md.Address + ":" + strconv.Itoa(md.Port)}
			for _, txt := range texts {
				for _, id := range ids {
					if strings.Contains(txt, id) {
						found = append(found, s.Name()+": "+txt+" names "+id)
					}
				}
			}
		}
	}
	return found
}

func TestNoAttributeNamesAnEndpoint(t *testing.T) {
	tp, rec := newRecorder(t)
	eps := testfleet.Upstream(25, "llama-3")
	a := newFakeScorer("kv-cache-utilization-scorer", "kv", kvScore)
	a.internalSpan = internalSpanName
	prof := mustProfile(t, "default", nil,
		[]*scheduler.WeightedScorer{mustWeighted(t, a, 1), mustWeighted(t, newFakeScorer("queue-scorer", "queue", queueScore), 1)},
		&maxPicker{}, scheduler.WithTracerProvider(tp))
	req := &framework.InferenceRequest{RequestID: "r-1", TargetModel: "llama-3", Prompt: "hello"}
	if _, err := prof.Run(context.Background(), req, eps); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 7 {
		t.Fatalf("got %d spans, want 7", len(spans))
	}
	for _, l := range leaks(spans, eps) {
		t.Error(l)
	}
}

// TestLeakCheckCanFail keeps the leak check honest: it must flag each kind
// of endpoint identity.
func TestLeakCheckCanFail(t *testing.T) {
	eps := testfleet.Upstream(3, "m")
	md := eps[2].GetMetadata()
	for _, v := range []string{md.ID, md.Name, md.Address, md.Address + ":8000", "picked " + md.Name} {
		t.Run(v, func(t *testing.T) {
			tp, rec := newRecorder(t)
			_, span := tp.Tracer("t").Start(context.Background(), "s", trace.WithAttributes(attribute.String("x", v)))
			span.End()
			if len(leaks(rec.Ended(), eps)) == 0 {
				t.Errorf("value %q not flagged", v)
			}
		})
	}
}

// TestScoringFollowsIncomingSampling: the scoring span joins the request's
// trace and a parent-based sampler's decision holds down to a scorer's own
// spans, which start from the context the chain hands the scorer: an
// unsampled request records nothing, not even the scorer's spans as roots.
func TestScoringFollowsIncomingSampling(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	a := newFakeScorer("a-scorer", "a1", kvScore)
	a.internalSpan, a.tp = internalSpanName, tp
	prof := mustProfile(t, "default", nil, []*scheduler.WeightedScorer{mustWeighted(t, a, 1)}, &maxPicker{}, scheduler.WithTracerProvider(tp))
	incoming := trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		Remote:  true,
	}
	tests := []struct {
		name      string
		flags     trace.TraceFlags
		wantSpans int
	}{
		{"unsampled request", 0, 0},
		// profile, filter, scoring, scorer, the scorer's own span, pick.
		{"sampled request", trace.FlagsSampled, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			cfg := incoming
			cfg.TraceFlags = tc.flags
			ctx := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(cfg))
			if _, err := prof.Run(ctx, &framework.InferenceRequest{}, testfleet.Upstream(3, "m")); err != nil {
				t.Fatal(err)
			}
			spans := rec.Ended()
			if len(spans) != tc.wantSpans {
				t.Fatalf("%d spans recorded, want %d", len(spans), tc.wantSpans)
			}
			for _, s := range spans {
				if s.SpanContext().TraceID() != cfg.TraceID {
					t.Errorf("%s is not in the request's trace", s.Name())
				}
				if s.Name() == schema.SpanRunSchedulerProfile && s.Parent().SpanID() != cfg.SpanID {
					t.Errorf("%s is not a child of the request's span", s.Name())
				}
			}
		})
	}
}

// TestNoScorers: a profile without scorers lets the picker choose among
// endpoints that all score 0, and still emits the scoring span, as
// upstream, with a scorer count of 0.
func TestNoScorers(t *testing.T) {
	tp, rec := newRecorder(t)
	pk := &maxPicker{keep: true}
	prof := mustProfile(t, "default", nil, nil, pk, scheduler.WithTracerProvider(tp))
	eps := testfleet.Upstream(4, "m")
	res, err := prof.Run(context.Background(), &framework.InferenceRequest{TargetModel: "m"}, eps)
	if err != nil {
		t.Fatal(err)
	}
	if res.TargetEndpoints[0] != eps[0] {
		t.Errorf("picked %s, want the first of equals", res.TargetEndpoints[0].GetMetadata().ID)
	}
	for i, s := range pk.seen {
		if s != 0 {
			t.Errorf("endpoint %d: total %v, want 0", i, s)
		}
	}
	var scoring []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == schema.SpanScoring {
			scoring = append(scoring, s)
		}
	}
	if len(scoring) != 1 {
		t.Fatalf("%d %s spans for an empty chain, want 1", len(scoring), schema.SpanScoring)
	}
	assertAttrs(t, scoring[0], map[string]attribute.Value{
		schema.AttrScorerCount:       attribute.IntValue(0),
		schema.AttrScoringCandidates: attribute.IntValue(4),
		schema.AttrRequestModel:      attribute.StringValue("m"),
		// all four tie at 0; no weight to normalize a margin by
		schema.AttrScoringTied: attribute.IntValue(4),
	})
}
