package instrument_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/scorelens/scorelens/scheduler/instrument"
	"github.com/scorelens/scorelens/scheduler/internal/upstreamfixture"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// An EPP of the test's own, shaped as upstream's: its own request and
// endpoint types, scorers returning a fresh map keyed by the endpoint's
// namespaced name, a profile runner that filters, scores and picks.

type namespacedName struct{ Namespace, Name string }

type pod struct {
	id      namespacedName
	queue   int
	kvUsage float64
}

type llmRequest struct {
	RequestID, TargetModel string
}

type podScorer struct {
	typ, name string
	weight    float64
	score     func(*pod) float64
}

func (s podScorer) Score(_ context.Context, _ *llmRequest, pods []*pod) map[namespacedName]float64 {
	out := make(map[namespacedName]float64, len(pods))
	for _, p := range pods {
		out[p.id] = s.score(p)
	}
	return out
}

type eppProfile struct {
	name    string
	scorers []podScorer
	// spans are the scorers' span identities, built once with the profile.
	spans []*instrument.Scorer
}

func newEPPProfile(name string, scorers ...podScorer) *eppProfile {
	p := &eppProfile{name: name, scorers: scorers}
	for _, s := range scorers {
		p.spans = append(p.spans, instrument.NewScorer(s.typ, s.name, s.weight))
	}
	return p
}

// run is upstream's profile run with every span made by the package.
func (p *eppProfile) run(ctx context.Context, t *instrument.Tracer, req *llmRequest, pods []*pod) namespacedName {
	ctx, prof := t.StartProfile(ctx, p.name)
	defer prof.End()
	ra := instrument.Request{Model: req.TargetModel, ID: req.RequestID}

	_, filter := prof.StartFilter(ctx, ra, len(pods))
	var kept []*pod
	for _, pd := range pods {
		if pd.queue < 8 {
			kept = append(kept, pd)
		}
	}
	filter.End(len(kept))

	cctx, chain := prof.StartChain(ctx, ra, len(p.scorers), len(kept))
	totals := p.score(cctx, chain, req, kept)
	chain.End()

	sums := make([]float64, len(kept))
	for i, pd := range kept {
		sums[i] = totals[pd.id]
	}
	_, pick := prof.StartPick(ctx, ra, sums)
	defer pick.End()
	return best(kept, totals)
}

// score is upstream's scorer loop, with the package's ten lines (the
// candidates as the scorers' maps key them, for the decision signals).
func (p *eppProfile) score(ctx context.Context, chain instrument.Chain, req *llmRequest, pods []*pod) map[namespacedName]float64 {
	totals := make(map[namespacedName]float64, len(pods))
	ids := make([]namespacedName, len(pods))
	for i, pd := range pods {
		ids[i] = pd.id
	}
	for i, s := range p.scorers {
		scores := instrument.ScoreEndpoints(ctx, chain, p.spans[i], ids, func(ctx context.Context) map[namespacedName]float64 {
			return s.Score(ctx, req, pods)
		})
		for id, v := range scores {
			totals[id] += math.Max(0, math.Min(1, v)) * s.weight
		}
	}
	return totals
}

// runOwnSpans is an EPP that makes upstream's other spans itself (with the
// OTel API, as upstream's code does) and adopts only the scoring chain.
func (p *eppProfile) runOwnSpans(ctx context.Context, tp trace.TracerProvider, t *instrument.Tracer, req *llmRequest, pods []*pod) {
	tr := tp.Tracer(schema.ScopeUpstreamScheduling)
	ctx, prof := tr.Start(ctx, schema.SpanRunSchedulerProfile, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String(schema.AttrProfileName, p.name)))
	defer prof.End()
	cctx, chain := t.StartChain(ctx, instrument.Request{Model: req.TargetModel, ID: req.RequestID}, len(p.scorers), len(pods))
	p.score(cctx, chain, req, pods)
	chain.End()
}

func best(pods []*pod, totals map[namespacedName]float64) namespacedName {
	var id namespacedName
	top := math.Inf(-1)
	for _, pd := range pods {
		if totals[pd.id] > top {
			id, top = pd.id, totals[pd.id]
		}
	}
	return id
}

func testPods(n int) []*pod {
	pods := make([]*pod, n)
	for i := range pods {
		pods[i] = &pod{id: namespacedName{"llm-d", fmt.Sprintf("vllm-%d", i)}, queue: i % 10, kvUsage: float64(i%7) / 7}
	}
	return pods
}

func testProfile() *eppProfile {
	return newEPPProfile("default",
		podScorer{"queue-scorer", "queue-scorer", 1, func(p *pod) float64 { return 1 - float64(p.queue)/10 }},
		podScorer{"kv-cache-utilization-scorer", "kv-cache-utilization-scorer", 2, func(p *pod) float64 { return 1 - p.kvUsage }},
		podScorer{"lora-affinity-scorer", "lora-affinity-scorer", 1, func(*pod) float64 { return 0.8 }},
	)
}

func newRecorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// TestUpstreamShapedRunner: an upstream-shaped profile runner of the
// test's own types, through this package, emits the span tree of upstream's
// own traces (testdata/upstream-epp): names, nesting, kinds and, per span
// name, the same keys with the same value types, bar the endpoint ids.
func TestUpstreamShapedRunner(t *testing.T) {
	upstream, err := upstreamfixture.Load(upstreamfixture.Single)
	if err != nil {
		t.Fatal(err)
	}
	pods := testPods(12)
	prof := testProfile()
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, tp trace.TracerProvider, t *instrument.Tracer, req *llmRequest)
		want []string
	}{
		{"every span from the package", func(ctx context.Context, _ trace.TracerProvider, t *instrument.Tracer, req *llmRequest) {
			prof.run(ctx, t, req, pods)
		}, []string{schema.SpanFilterEndpoints, schema.ScorerSpanPrefix, schema.SpanScoring, schema.SpanPickEndpoints, schema.SpanRunSchedulerProfile}},
		{"scoring chain only", func(ctx context.Context, tp trace.TracerProvider, t *instrument.Tracer, req *llmRequest) {
			prof.runOwnSpans(ctx, tp, t, req, pods)
		}, []string{schema.ScorerSpanPrefix, schema.SpanScoring, schema.SpanRunSchedulerProfile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, rec := newRecorder(t)
			tracer := instrument.NewTracer(instrument.WithTracerProvider(tp))
			for i := range 20 {
				ctx, root := tp.Tracer("harness").Start(context.Background(), "gateway.request")
				tc.run(ctx, tp, tracer, &llmRequest{RequestID: fmt.Sprintf("req-%d", i), TargetModel: "meta-llama/Llama-3.1-8B-Instruct"})
				root.End()
			}
			ours, err := upstreamfixture.FromSpans(rec.Ended())
			if err != nil {
				t.Fatal(err)
			}
			diffs, compared := upstreamfixture.Compare(upstream, ours)
			for _, d := range diffs {
				t.Error(d)
			}
			if fmt.Sprint(compared) != fmt.Sprint(tc.want) {
				t.Errorf("compared %v, want %v", compared, tc.want)
			}
			if got := ours[schema.ScorerSpanPrefix].Count; got != 20*len(prof.scorers) {
				t.Errorf("%d scorer spans, want %d", got, 20*len(prof.scorers))
			}
			// Our extension, beside upstream's keys: the decision signals.
			for _, k := range []struct {
				span, key string
				typ       schema.Type
			}{
				{schema.ScorerSpanPrefix, schema.AttrScorerDecisive, schema.TypeBool},
				{schema.SpanScoring, schema.AttrScoringTied, schema.TypeInt},
				{schema.SpanScoring, schema.AttrScoringMargin, schema.TypeFloat},
			} {
				if got := ours[k.span].Keys[k.key]; got != k.typ {
					t.Errorf("%s: %s is %v, want %v", k.span, k.key, got, k.typ)
				}
			}
		})
	}
}

// TestRawAggregates: score.max and score.avg are over the raw scores,
// NaN skipped, as upstream's; an empty map gets no aggregate.
func TestRawAggregates(t *testing.T) {
	tp, rec := newRecorder(t)
	tracer := instrument.NewTracer(instrument.WithTracerProvider(tp))
	s := instrument.NewScorer("x-scorer", "x", 0.5)
	ctx, chain := tracer.StartChain(context.Background(), instrument.Request{}, 2, 4)
	instrument.Score(ctx, chain, s, 4, func(context.Context) map[string]float64 {
		return map[string]float64{"a": 3, "b": -1, "c": math.NaN(), "d": 0.5}
	})
	instrument.Score(ctx, chain, s, 4, func(context.Context) map[string]float64 { return nil })
	chain.End()
	var scorers []sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.Name() == s.SpanName() {
			scorers = append(scorers, sp)
		}
	}
	if len(scorers) != 2 {
		t.Fatalf("%d scorer spans, want 2", len(scorers))
	}
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range scorers[0].Attributes() {
		got[kv.Key] = kv.Value
	}
	if got[schema.AttrScoreMax].AsFloat64() != 3 || got[schema.AttrScoreAvg].AsFloat64() != 2.5/3 || got[schema.AttrEndpointsScored].AsInt64() != 3 {
		t.Errorf("aggregates max %v avg %v scored %v, want 3, %v, 3", got[schema.AttrScoreMax].Emit(), got[schema.AttrScoreAvg].Emit(), got[schema.AttrEndpointsScored].Emit(), 2.5/3)
	}
	for _, kv := range scorers[1].Attributes() {
		switch string(kv.Key) {
		case schema.AttrScoreMax, schema.AttrScoreAvg, schema.AttrEndpointsScored:
			t.Errorf("empty map: %s = %s", kv.Key, kv.Value.Emit())
		}
	}
}

// TestOffCostsNothing: with tracing off (a nil Tracer, the global default,
// a no-op provider) the chain allocates nothing at all; an unsampled SDK
// costs the root's Start (two allocations) and nothing per scorer.
func TestOffCostsNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	scores := map[namespacedName]float64{{"ns", "a"}: 1}
	spans := []*instrument.Scorer{instrument.NewScorer("a", "a", 1), instrument.NewScorer("b", "b", 1), instrument.NewScorer("c", "c", 1)}
	chain := func(tr *instrument.Tracer) float64 {
		return testing.AllocsPerRun(200, func() {
			ctx, c := tr.StartChain(context.Background(), instrument.Request{Model: "m", ID: "r"}, len(spans), 1)
			for _, s := range spans {
				instrument.Score(ctx, c, s, 1, func(context.Context) map[namespacedName]float64 { return scores })
			}
			c.End()
		})
	}
	eps := []namespacedName{{"ns", "a"}}
	chainEndpoints := func(tr *instrument.Tracer) float64 {
		return testing.AllocsPerRun(200, func() {
			ctx, c := tr.StartChain(context.Background(), instrument.Request{Model: "m", ID: "r"}, len(spans), len(eps))
			for _, s := range spans {
				instrument.ScoreEndpoints(ctx, c, s, eps, func(context.Context) map[namespacedName]float64 { return scores })
			}
			c.End()
		})
	}
	profile := func(tr *instrument.Tracer) float64 {
		return testing.AllocsPerRun(200, func() {
			ctx, p := tr.StartProfile(context.Background(), "default")
			_, f := p.StartFilter(ctx, instrument.Request{}, 3)
			f.End(3)
			_, c := p.StartChain(ctx, instrument.Request{}, 0, 3)
			c.End()
			_, pk := p.StartPick(ctx, instrument.Request{}, []float64{1, 2, 3})
			pk.End()
			p.End()
		})
	}
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	for _, tc := range []struct {
		name string
		tr   *instrument.Tracer
		max  float64
	}{
		{"nil Tracer", nil, 0},
		{"global default", instrument.NewTracer(), 0},
		{"noop provider", instrument.NewTracer(instrument.WithTracerProvider(noop.NewTracerProvider())), 0},
		{"unsampled SDK", instrument.NewTracer(instrument.WithTracerProvider(unsampled)), 2},
	} {
		if got := chain(tc.tr); got > tc.max {
			t.Errorf("%s: chain of 3 scorers allocates %v, want at most %v", tc.name, got, tc.max)
		}
		if got := chainEndpoints(tc.tr); got > tc.max {
			t.Errorf("%s: chain of 3 scorers through ScoreEndpoints allocates %v, want at most %v", tc.name, got, tc.max)
		}
		if got := profile(tc.tr); got > tc.max {
			t.Errorf("%s: profile run allocates %v, want at most %v", tc.name, got, tc.max)
		}
	}
}
