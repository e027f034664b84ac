package scheduler_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/scorelens/scorelens/scheduler"
	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// fixedPicker picks the first endpoint into a result it owns, so that it
// allocates nothing and Run's own allocations show. Not for concurrent use.
type fixedPicker struct{ res framework.ProfileRunResult }

func (p *fixedPicker) TypedName() framework.TypedName {
	return framework.TypedName{Type: "fixed-picker", Name: "fixed"}
}

func (p *fixedPicker) Pick(_ context.Context, scored []*framework.ScoredEndpoint) *framework.ProfileRunResult {
	p.res.TargetEndpoints = append(p.res.TargetEndpoints[:0], scored[0].Endpoint)
	return &p.res
}

func allocsOfRun(t *testing.T, opt ...scheduler.Option) float64 {
	t.Helper()
	prof := mustProfile(t, "p", nil, []*scheduler.WeightedScorer{
		mustWeighted(t, newFakeScorer("kv", "kv", kvScore), 1),
		mustWeighted(t, newFakeScorer("q", "q", queueScore), 1),
		mustWeighted(t, newFakeScorer("q2", "q2", queueScore), 1),
		mustWeighted(t, newFakeScorer("kv2", "kv2", kvScore), 1),
	}, &fixedPicker{}, opt...)
	eps := testfleet.Upstream(25, "m")
	req := &framework.InferenceRequest{RequestID: "r", TargetModel: "m"}
	ctx := context.Background()
	return testing.AllocsPerRun(200, func() {
		if _, err := prof.Run(ctx, req, eps); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRunAllocations: with no tracing, Run allocates nothing of its own;
// no-op providers cost exactly that; an unsampled SDK costs the parent's
// Start (the SDK's non-recording span and its context), nothing per scorer.
func TestRunAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	absent := allocsOfRun(t, scheduler.WithoutTracing())
	if absent != 0 {
		t.Errorf("absent: Run allocates %v per call, want 0", absent)
	}
	tests := []struct {
		name     string
		opt      scheduler.Option
		maxAbove float64
	}{
		{"noop.TracerProvider", scheduler.WithTracerProvider(noop.NewTracerProvider()), 0},
		//nolint:staticcheck // the deprecated no-op provider is still in use.
		{"trace.NewNoopTracerProvider", scheduler.WithTracerProvider(trace.NewNoopTracerProvider()), 0},
		{"unsampled SDK", scheduler.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := allocsOfRun(t, tc.opt); got > absent+tc.maxAbove {
				t.Errorf("%v allocs/op, absent %v: want at most %v more", got, absent, tc.maxAbove)
			}
		})
	}
}

const globalChildEnv = "SCORELENS_SCHEDULER_GLOBAL_CHILD"

// TestGlobalProvider runs TestGlobalProviderChild in a fresh process: it
// needs the OTel global as a process starts, before any SDK is installed,
// and it installs one, which no other test of this binary may see.
func TestGlobalProvider(t *testing.T) {
	if os.Getenv(globalChildEnv) != "" {
		t.Skip("in the child")
	}
	args := []string{"-test.run=^TestGlobalProviderChild$", "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), globalChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func TestGlobalProviderChild(t *testing.T) {
	if os.Getenv(globalChildEnv) == "" {
		t.Skip("runs in a child process of TestGlobalProvider")
	}
	if !scheduler.IsGlobalDefault(otel.GetTracerProvider()) {
		t.Fatalf("a fresh process's global provider (%T) is not detected as the default", otel.GetTracerProvider())
	}
	// Built before any SDK exists, following the global (the default).
	followed := mustProfile(t, "p", nil, []*scheduler.WeightedScorer{
		mustWeighted(t, newFakeScorer("kv", "kv", kvScore), 1),
		mustWeighted(t, newFakeScorer("q", "q", queueScore), 1),
	}, &fixedPicker{})
	eps := testfleet.Upstream(25, "m")
	req := &framework.InferenceRequest{RequestID: "r", TargetModel: "m"}
	run := func() {
		if _, err := followed.Run(context.Background(), req, eps); err != nil {
			t.Fatal(err)
		}
	}

	if !raceEnabled {
		absent := allocsOfRun(t, scheduler.WithoutTracing())
		if noop := testing.AllocsPerRun(200, run); noop != absent {
			t.Errorf("nothing installed: %v allocs/op, WithoutTracing %v: want equal", noop, absent)
		}
		// An explicit provider that is the global default follows it too.
		if got := allocsOfRun(t, scheduler.WithTracerProvider(otel.GetTracerProvider())); got != absent {
			t.Errorf("explicit global default: %v allocs/op, WithoutTracing %v", got, absent)
		}
	}

	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	run()
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	want := []string{schema.SpanFilterEndpoints, schema.ScorerSpanPrefix + "kv", schema.ScorerSpanPrefix + "q", schema.SpanScoring,
		schema.SpanPickEndpoints, schema.SpanRunSchedulerProfile}
	if len(names) != len(want) {
		t.Fatalf("after installing an SDK: spans %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("after installing an SDK: spans %v, want %v", names, want)
		}
	}

	if scheduler.IsGlobalDefault(otel.GetTracerProvider()) {
		t.Error("the installed SDK is taken for the global default")
	}

	// Replacing the SDK by a no-op provider turns tracing off again.
	rec.Reset()
	otel.SetTracerProvider(noop.NewTracerProvider())
	run()
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("after installing a no-op provider: %d spans", n)
	}
	if !raceEnabled {
		if got, absent := testing.AllocsPerRun(200, run), allocsOfRun(t, scheduler.WithoutTracing()); got != absent {
			t.Errorf("no-op provider installed: %v allocs/op, WithoutTracing %v", got, absent)
		}
	}

	// A provider whose type cannot be compared is never cached (comparing
	// two of them would panic): it is asked for its tracer on every Run.
	up := scheduler.NewUncomparableProvider()
	otel.SetTracerProvider(up)
	run()
	run()
	if got := up.TracerCalls(); got != 2 {
		t.Errorf("uncomparable provider: Tracer called %d times over 2 runs, want 2", got)
	}
}

// TestScheduleAllocationsDistinctPrompts holds BenchmarkScheduleDistinctPrompts'
// targets in every test run: with the real plugins at 100 endpoints and a
// new prompt per request (the prefix index inserting and evicting), the
// build without tracing code allocates under 25 times per Schedule, no SDK
// installed allocates exactly as much, an unsampled SDK at most 2 more.
func TestScheduleAllocationsDistinctPrompts(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	if !scheduler.IsGlobalDefault(otel.GetTracerProvider()) {
		t.Fatalf("needs the global's default provider, found %T", otel.GetTracerProvider())
	}
	prompts := distinctPrompts()
	measure := func(opts ...scheduler.Option) float64 {
		handler, prof := benchPlugins(t, 1, opts)
		s, err := scheduler.New(handler, map[string]*scheduler.Profile{prof.Name(): prof})
		if err != nil {
			t.Fatal(err)
		}
		eps := testfleet.Upstream(100, benchModel)
		req := &framework.InferenceRequest{}
		i := 0
		schedule := func() {
			*req = framework.InferenceRequest{RequestID: "r", TargetModel: benchModel, Prompt: prompts[i%len(prompts)]}
			i++
			if _, err := s.Schedule(context.Background(), req, eps); err != nil {
				t.Fatal(err)
			}
		}
		for range distinctWarmIterations {
			schedule()
		}
		return testing.AllocsPerRun(300, schedule)
	}
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	absent := measure(scheduler.WithoutTracing())
	noop := measure()
	sdk := measure(scheduler.WithTracerProvider(unsampled))
	if absent >= 25 {
		t.Errorf("absent: %v allocs per Schedule, want under 25", absent)
	}
	if noop != absent {
		t.Errorf("no SDK installed: %v allocs per Schedule, absent %v: want equal", noop, absent)
	}
	if sdk > absent+2 {
		t.Errorf("unsampled SDK: %v allocs per Schedule, absent %v: want at most 2 more", sdk, absent)
	}
}
