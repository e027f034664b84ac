package main

import (
	"context"
	"fmt"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/scorelens/scorelens/scheduler/internal/upstreamfixture"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// TestSpansMatchUpstreamFixtures runs eppsim, single-profile and with
// -disagg, and compares its spans with upstream's own traces of the same
// setup (testdata/upstream-epp): for every span name both have, eppsim's
// carry no key upstream's lack, and every key upstream's carry except the
// endpoint ids left out on purpose, with the same value types, kinds and
// nesting. score_prefix_cache, absent from the fixtures, is held to the
// keys upstream's code sets (schema.UpstreamAttributes).
func TestSpansMatchUpstreamFixtures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		disagg  bool
		fixture string
		want    []string
	}{
		{"single", false, upstreamfixture.Single, []string{
			schema.SpanFilterEndpoints, schema.ScorerSpanPrefix, schema.SpanScoring, schema.SpanPickEndpoints, schema.SpanRunSchedulerProfile,
		}},
		{"disagg", true, upstreamfixture.Disagg, []string{
			schema.SpanFilterEndpoints, schema.ScorerSpanPrefix, schema.SpanScoring, schema.SpanPickDisaggProfile, schema.SpanPickEndpoints, schema.SpanRunSchedulerProfile,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upstream, err := upstreamfixture.Load(tc.fixture)
			if err != nil {
				t.Fatal(err)
			}
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			sim, err := newSimulation(config{requests: 200, endpoints: 12, seed: 3, disagg: tc.disagg}, tp)
			if err != nil {
				t.Fatal(err)
			}
			sim.run(context.Background())
			if sim.stats.failed > 0 {
				t.Fatalf("%d of %d requests failed: %v", sim.stats.failed, sim.stats.requests, sim.stats.firstErr)
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

			// score_prefix_cache: exactly upstream's keys and types.
			prefix := ours[schema.SpanScorePrefixCache]
			if prefix == nil {
				t.Fatalf("no %s span", schema.SpanScorePrefixCache)
			}
			want := map[string]schema.Type{}
			for _, a := range schema.UpstreamAttributes(schema.SpanScorePrefixCache) {
				want[a.Key] = a.Type
			}
			if fmt.Sprint(prefix.Keys) != fmt.Sprint(want) {
				t.Errorf("%s keys %v, want upstream's %v", schema.SpanScorePrefixCache, prefix.Keys, want)
			}
			if !prefix.Parents[schema.ScorerSpanPrefix] || len(prefix.Parents) != 1 {
				t.Errorf("%s under %v, want its scorer span", schema.SpanScorePrefixCache, prefix.Parents)
			}

			if tc.disagg {
				// Two chains per request when prefill ran, each attributable
				// to its profile: both profiles appear.
				profiles := map[string]int{}
				for _, sp := range rec.Ended() {
					if sp.Name() != schema.SpanRunSchedulerProfile {
						continue
					}
					for _, kv := range sp.Attributes() {
						if string(kv.Key) == schema.AttrProfileName {
							profiles[kv.Value.AsString()]++
						}
					}
				}
				if profiles["decode"] != 200 || profiles["prefill"] == 0 || len(profiles) != 2 {
					t.Errorf("profile runs %v, want 200 decode and some prefill", profiles)
				}
				// The simulation's own count of profile runs (the truth its
				// summary prints) agrees with the spans, every one sampled.
				for name, n := range profiles {
					got := sim.stats.profiles[name]
					if got == nil || got.runs != uint64(n) || got.sampled != uint64(n) {
						t.Errorf("profile %s: simulation counted %+v, spans say %d runs, all sampled", name, got, n)
					}
				}
				if len(sim.stats.profiles) != len(profiles) {
					t.Errorf("simulation counted profiles %v, spans name %v", sim.stats.profiles, profiles)
				}
			}
		})
	}
}

func TestDisaggFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"-disagg"}, true}, {[]string{"-disagg=false"}, false}} {
		cfg, err := parseFlags(tc.args, nil)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if cfg.disagg != tc.want {
			t.Errorf("%v: disagg = %v, want %v", tc.args, cfg.disagg, tc.want)
		}
	}
}
