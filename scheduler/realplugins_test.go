package scheduler_test

import (
	"context"
	"fmt"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/scorelens/scorelens/scheduler"
	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
	"github.com/scorelens/scorelens/scheduler/internal/upstreamfixture"
	"github.com/scorelens/scorelens/scheduler/plugins/picker"
	"github.com/scorelens/scorelens/scheduler/plugins/profilehandler"
	"github.com/scorelens/scorelens/scheduler/plugins/scorer"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// benchScorers is the number of scorers of the benchmark's chain.
const benchScorers = 4

// benchPlugins builds upstream's benchmark profile from the real plugins,
// and the single-profile handler.
func benchPlugins(tb testing.TB, seed uint64, opts []scheduler.Option) (framework.ProfileHandler, *scheduler.Profile) {
	tb.Helper()
	prefix, err := scorer.NewPrefixCache("", scorer.DefaultPrefixCacheConfig())
	if err != nil {
		tb.Fatal(err)
	}
	scorers := []*scheduler.WeightedScorer{
		mustWeighted(tb, scorer.NewKVCacheUtilization(""), 1),
		mustWeighted(tb, scorer.NewQueue(""), 1),
		mustWeighted(tb, prefix, 1),
		mustWeighted(tb, scorer.NewLoRAAffinity(""), 1),
	}
	if len(scorers) != benchScorers {
		tb.Fatalf("%d scorers, the per-span figures divide by %d", len(scorers), benchScorers)
	}
	return profilehandler.NewSingle(""), mustProfile(tb, "default", nil, scorers, picker.NewMaxScore("", picker.WithSeed(seed)), opts...)
}

// TestRealPluginsSpanTree runs the benchmark's profile with the real
// plugins under a sampling SDK: the schema tree, the prefix scorer's own
// span under its scorer span, nothing naming an endpoint, and the same
// picks as without tracing.
func TestRealPluginsSpanTree(t *testing.T) {
	tp, rec := newRecorder(t)
	build := func(opts ...scheduler.Option) *scheduler.Scheduler {
		handler, prof := benchPlugins(t, 7, opts)
		s, err := scheduler.New(handler, map[string]*scheduler.Profile{prof.Name(): prof})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	traced, untraced := build(scheduler.WithTracerProvider(tp)), build(scheduler.WithoutTracing())
	eps := testfleet.Upstream(25, benchModel)
	req := func() *framework.InferenceRequest {
		return &framework.InferenceRequest{RequestID: "r-1", TargetModel: benchModel, Prompt: benchPrompt}
	}
	for i := range 5 {
		rec.Reset()
		got, err := traced.Schedule(context.Background(), req(), eps)
		if err != nil {
			t.Fatal(err)
		}
		want, err := untraced.Schedule(context.Background(), req(), eps)
		if err != nil {
			t.Fatal(err)
		}
		g, w := got.ProfileResults["default"].TargetEndpoints[0], want.ProfileResults["default"].TargetEndpoints[0]
		if g != w {
			t.Errorf("request %d: traced picked %s, untraced %s", i, g.GetMetadata().ID, w.GetMetadata().ID)
		}

		spans := rec.Ended()
		byName := map[string]sdktrace.ReadOnlySpan{}
		for _, s := range spans {
			byName[s.Name()] = s
		}
		parent := byName[schema.SpanScoring]
		if parent == nil || len(spans) != 9 {
			t.Fatalf("request %d: %d spans, want profile, filter, scoring + 4 scorers + score_prefix_cache, pick", i, len(spans))
		}
		if prof := byName[schema.SpanRunSchedulerProfile]; prof == nil || parent.Parent().SpanID() != prof.SpanContext().SpanID() {
			t.Fatalf("request %d: the scoring span is not under %s", i, schema.SpanRunSchedulerProfile)
		}
		for _, typ := range []string{scorer.KVCacheUtilizationType, scorer.QueueType, scorer.PrefixCacheType, scorer.LoRAAffinityType} {
			c := byName[schema.ScorerSpanPrefix+typ]
			if c == nil || c.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Fatalf("request %d: scorer span of %s missing or not under the scoring span", i, typ)
			}
		}
		own := byName[schema.SpanScorePrefixCache]
		if own == nil || own.Parent().SpanID() != byName[schema.ScorerSpanPrefix+scorer.PrefixCacheType].SpanContext().SpanID() {
			t.Fatalf("request %d: %s missing or not under its scorer span", i, schema.SpanScorePrefixCache)
		}
		for _, l := range leaks(spans, eps) {
			t.Error(l)
		}
	}
}

// TestProfileHasUpstreamShape: our own Profile, with the real plugins,
// emits the span tree of upstream's own traces (testdata/upstream-epp):
// names, nesting, kinds and, per span name, the same keys with the same
// value types, bar the endpoint ids.
func TestProfileHasUpstreamShape(t *testing.T) {
	upstream, err := upstreamfixture.Load(upstreamfixture.Single)
	if err != nil {
		t.Fatal(err)
	}
	tp, rec := newRecorder(t)
	handler, prof := benchPlugins(t, 3, []scheduler.Option{scheduler.WithTracerProvider(tp)})
	s, err := scheduler.New(handler, map[string]*scheduler.Profile{prof.Name(): prof})
	if err != nil {
		t.Fatal(err)
	}
	eps := testfleet.Upstream(12, benchModel)
	for i := range 20 {
		ctx, root := tp.Tracer("harness").Start(context.Background(), "gateway.request")
		req := &framework.InferenceRequest{RequestID: fmt.Sprintf("req-%d", i), TargetModel: benchModel, Prompt: benchPrompt}
		if _, err := s.Schedule(ctx, req, eps); err != nil {
			t.Fatal(err)
		}
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
	want := []string{schema.SpanFilterEndpoints, schema.ScorerSpanPrefix, schema.SpanScoring, schema.SpanPickEndpoints, schema.SpanRunSchedulerProfile}
	if fmt.Sprint(compared) != fmt.Sprint(want) {
		t.Errorf("compared %v, want %v", compared, want)
	}
}
