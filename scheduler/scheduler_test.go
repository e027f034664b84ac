package scheduler_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/scorelens/scorelens/scheduler"
	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
	"github.com/scorelens/scorelens/scheduler/plugins/scorer"
)

func TestWeightedSumClampsAndWeights(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64 // raw scores of two scorers over 4 endpoints
		wa   float64
		wb   float64
		want []float64
	}{
		{"in range", []float64{0, 0.25, 0.5, 1}, []float64{1, 1, 0, 0}, 1, 1, []float64{1, 1.25, 0.5, 1}},
		{"weights multiply", []float64{0.5, 0.5, 0.5, 0.5}, []float64{0.1, 0.2, 0.3, 0.4}, 2, 0.5, []float64{1.05, 1.1, 1.15, 1.2}},
		{"clamped before weighting", []float64{-3, 7, math.Inf(1), math.Inf(-1)}, []float64{0, 0, 0, 0}, 3, 1, []float64{0, 3, 3, 0}},
		{"no score adds nothing", []float64{math.NaN(), 0.5, math.NaN(), math.NaN()}, []float64{math.NaN(), math.NaN(), 0.25, math.NaN()}, 2, 4, []float64{0, 1, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pk := &maxPicker{keep: true}
			prof := mustProfile(t, "p", nil, []*scheduler.WeightedScorer{
				mustWeighted(t, newFakeScorer("a", "a", func(i int, _ framework.Endpoint) float64 { return tc.a[i] }), tc.wa),
				mustWeighted(t, newFakeScorer("b", "b", func(i int, _ framework.Endpoint) float64 { return tc.b[i] }), tc.wb),
			}, pk, scheduler.WithoutTracing())
			// Twice: the second Run reuses the first one's buffers.
			for range 2 {
				if _, err := prof.Run(context.Background(), &framework.InferenceRequest{}, testfleet.Upstream(4, "m")); err != nil {
					t.Fatal(err)
				}
				for i, w := range tc.want {
					if math.Abs(pk.seen[i]-w) > 1e-12 {
						t.Errorf("endpoint %d: total %v, want %v", i, pk.seen[i], w)
					}
				}
			}
		})
	}
}

// TestTracingChangesNothing: picks and call counts are the same whether
// tracing is absent, off, unsampled or sampled.
func TestTracingChangesNothing(t *testing.T) {
	modes := map[string]scheduler.Option{
		"absent":    scheduler.WithoutTracing(),
		"noop":      scheduler.WithTracerProvider(noop.NewTracerProvider()),
		"unsampled": scheduler.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))),
		"sampled":   scheduler.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))),
	}
	type outcome struct {
		picks              []string
		kv, q, pickerCalls int64
	}
	got := map[string]outcome{}
	for mode, opt := range modes {
		kv := newFakeScorer("kv-cache-utilization-scorer", "kv", kvScore)
		q := newFakeScorer("queue-scorer", "queue", queueScore)
		pk := &maxPicker{}
		prof := mustProfile(t, "default", nil, []*scheduler.WeightedScorer{mustWeighted(t, kv, 1), mustWeighted(t, q, 2)}, pk, opt)
		s, err := scheduler.New(singleHandler{"default"}, map[string]*scheduler.Profile{"default": prof})
		if err != nil {
			t.Fatal(err)
		}
		var o outcome
		for n := 1; n <= 40; n++ {
			eps := testfleet.Upstream(n, "m")
			// Vary the fleet so that picks differ between requests.
			eps = append(eps[n/2:], eps[:n/2]...)
			res, err := s.Schedule(context.Background(), &framework.InferenceRequest{TargetModel: "m"}, eps)
			if err != nil {
				t.Fatal(err)
			}
			o.picks = append(o.picks, res.ProfileResults["default"].TargetEndpoints[0].GetMetadata().ID)
		}
		o.kv, o.q, o.pickerCalls = kv.calls.Load(), q.calls.Load(), pk.calls.Load()
		got[mode] = o
	}
	ref := got["absent"]
	if ref.kv != 40 || ref.q != 40 || ref.pickerCalls != 40 {
		t.Fatalf("absent: calls kv=%d queue=%d picker=%d, want 40 each", ref.kv, ref.q, ref.pickerCalls)
	}
	for mode, o := range got {
		if o.kv != ref.kv || o.q != ref.q || o.pickerCalls != ref.pickerCalls {
			t.Errorf("%s: calls %d/%d/%d, absent %d/%d/%d", mode, o.kv, o.q, o.pickerCalls, ref.kv, ref.q, ref.pickerCalls)
		}
		if strings.Join(o.picks, ",") != strings.Join(ref.picks, ",") {
			t.Errorf("%s: picks differ from absent:\n%v\n%v", mode, o.picks, ref.picks)
		}
	}
}

func TestPickedTargetIsDetachedFromBuffers(t *testing.T) {
	prof := mustProfile(t, "p", nil, []*scheduler.WeightedScorer{
		mustWeighted(t, newFakeScorer("q", "q", queueScore), 1),
	}, &maxPicker{}, scheduler.WithoutTracing())
	eps := testfleet.Upstream(8, "m")
	res, err := prof.Run(context.Background(), &framework.InferenceRequest{}, eps)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.TargetEndpoints[0].(*framework.ScoredEndpoint); ok {
		t.Fatal("target still points into the recycled scored buffer")
	}
	if res.TargetEndpoints[0] != eps[0] { // queue 0 is the shortest
		t.Errorf("picked %s, want %s", res.TargetEndpoints[0].GetMetadata().ID, eps[0].GetMetadata().ID)
	}
}

func TestFilters(t *testing.T) {
	onlyModel := &fakeFilter{name: "has-model", keep: func(ep framework.Endpoint) bool { return ep.GetMetrics().ActiveModels["m"] > 0 }}
	none := &fakeFilter{name: "none", keep: func(framework.Endpoint) bool { return false }}
	q := newFakeScorer("q", "q", queueScore)

	t.Run("narrows without touching the caller's slice", func(t *testing.T) {
		prof := mustProfile(t, "p", []framework.Filter{onlyModel}, []*scheduler.WeightedScorer{mustWeighted(t, q, 1)}, &maxPicker{keep: true})
		eps := testfleet.Upstream(9, "m")
		before := append([]framework.Endpoint(nil), eps...)
		res, err := prof.Run(context.Background(), &framework.InferenceRequest{}, eps)
		if err != nil {
			t.Fatal(err)
		}
		for i := range eps {
			if eps[i] != before[i] {
				t.Fatalf("candidates[%d] changed by an in-place filter", i)
			}
		}
		// Model on 0, 3, 6; queue i%8 → 0 is best.
		if res.TargetEndpoints[0] != eps[0] {
			t.Errorf("picked %s", res.TargetEndpoints[0].GetMetadata().ID)
		}
	})
	t.Run("none left is an error naming profile and filter", func(t *testing.T) {
		pk := &maxPicker{}
		prof := mustProfile(t, "prefill", []framework.Filter{onlyModel, none}, []*scheduler.WeightedScorer{mustWeighted(t, q, 1)}, pk)
		_, err := prof.Run(context.Background(), &framework.InferenceRequest{}, testfleet.Upstream(9, "m"))
		if err == nil || !strings.Contains(err.Error(), `"prefill"`) || !strings.Contains(err.Error(), "none/fake-filter") {
			t.Fatalf("err = %v, want one naming the profile and the filter", err)
		}
		if pk.calls.Load() != 0 {
			t.Error("picker ran with no endpoints")
		}
	})
	t.Run("no candidates is an error", func(t *testing.T) {
		prof := mustProfile(t, "p", nil, []*scheduler.WeightedScorer{mustWeighted(t, q, 1)}, &maxPicker{})
		if _, err := prof.Run(context.Background(), &framework.InferenceRequest{}, nil); err == nil {
			t.Fatal("no error for an empty fleet")
		}
	})
}

func TestConstructorsRejectBadInput(t *testing.T) {
	q := newFakeScorer("queue-scorer", "q", queueScore)
	ws := mustWeighted(t, q, 1)
	okProfile := mustProfile(t, "default", nil, []*scheduler.WeightedScorer{ws}, &maxPicker{})
	tests := []struct {
		name string
		err  func() error
	}{
		{"nil scorer", func() error { _, err := scheduler.NewWeightedScorer(nil, 1); return err }},
		{"zero weight", func() error { _, err := scheduler.NewWeightedScorer(q, 0); return err }},
		{"negative weight", func() error { _, err := scheduler.NewWeightedScorer(q, -1); return err }},
		{"NaN weight", func() error { _, err := scheduler.NewWeightedScorer(q, math.NaN()); return err }},
		{"infinite weight", func() error { _, err := scheduler.NewWeightedScorer(q, math.Inf(1)); return err }},
		{"empty type", func() error { _, err := scheduler.NewWeightedScorer(newFakeScorer("", "q", queueScore), 1); return err }},
		{"empty profile name", func() error { _, err := scheduler.NewProfile("", nil, nil, &maxPicker{}); return err }},
		{"nil picker", func() error { _, err := scheduler.NewProfile("p", nil, nil, nil); return err }},
		{"nil filter", func() error {
			_, err := scheduler.NewProfile("p", []framework.Filter{nil}, nil, &maxPicker{})
			return err
		}},
		{"nil weighted scorer", func() error {
			_, err := scheduler.NewProfile("p", nil, []*scheduler.WeightedScorer{nil}, &maxPicker{})
			return err
		}},
		{"same scorer twice", func() error {
			_, err := scheduler.NewProfile("p", nil, []*scheduler.WeightedScorer{ws, mustWeighted(t, q, 2)}, &maxPicker{})
			return err
		}},
		{"nil handler", func() error {
			_, err := scheduler.New(nil, map[string]*scheduler.Profile{"default": okProfile})
			return err
		}},
		{"no profiles", func() error { _, err := scheduler.New(singleHandler{"default"}, nil); return err }},
		{"nil profile", func() error {
			_, err := scheduler.New(singleHandler{"default"}, map[string]*scheduler.Profile{"default": nil})
			return err
		}},
		{"profile under another name", func() error {
			_, err := scheduler.New(singleHandler{"x"}, map[string]*scheduler.Profile{"x": okProfile})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); err == nil {
				t.Error("no error")
			}
		})
	}
}

// twoProfiles runs "a" then "b" in two rounds.
type twoProfiles struct{ onlyA bool }

func (twoProfiles) TypedName() framework.TypedName {
	return framework.TypedName{Type: "two", Name: "two"}
}

func (h twoProfiles) Pick(_ context.Context, _ *framework.InferenceRequest, profiles map[string]framework.Profile, results map[string]*framework.ProfileRunResult) map[string]framework.Profile {
	switch {
	case len(results) == 0:
		return map[string]framework.Profile{"a": profiles["a"]}
	case len(results) == 1 && !h.onlyA:
		return map[string]framework.Profile{"b": profiles["b"]}
	}
	return nil
}

func (twoProfiles) ProcessResults(_ context.Context, _ *framework.InferenceRequest, results map[string]*framework.ProfileRunResult) (*framework.SchedulingResult, error) {
	return &framework.SchedulingResult{ProfileResults: results, PrimaryProfileName: "a"}, nil
}

func TestPreRequestOncePerPluginOfProfilesThatRan(t *testing.T) {
	shared := &prScorer{fakeScorer: newFakeScorer("prefix-cache-scorer", "prefix", queueScore)}
	onlyB := &prScorer{fakeScorer: newFakeScorer("session-affinity-scorer", "session", queueScore)}
	a := mustProfile(t, "a", nil, []*scheduler.WeightedScorer{mustWeighted(t, shared, 1)}, &maxPicker{})
	b := mustProfile(t, "b", nil, []*scheduler.WeightedScorer{mustWeighted(t, shared, 1), mustWeighted(t, onlyB, 1)}, &maxPicker{})
	profiles := map[string]*scheduler.Profile{"a": a, "b": b}
	tests := []struct {
		name                string
		handler             twoProfiles
		wantShared, wantOnB int64
	}{
		{"both ran", twoProfiles{}, 1, 1},
		{"only a ran", twoProfiles{onlyA: true}, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shared.pre.Store(0)
			onlyB.pre.Store(0)
			s, err := scheduler.New(tc.handler, profiles, scheduler.WithoutTracing())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Schedule(context.Background(), &framework.InferenceRequest{}, testfleet.Upstream(3, "m")); err != nil {
				t.Fatal(err)
			}
			if got := shared.pre.Load(); got != tc.wantShared {
				t.Errorf("shared scorer PreRequest called %d times, want %d", got, tc.wantShared)
			}
			if got := onlyB.pre.Load(); got != tc.wantOnB {
				t.Errorf("b's scorer PreRequest called %d times, want %d", got, tc.wantOnB)
			}
		})
	}
}

type endlessHandler struct{ twoProfiles }

func (endlessHandler) Pick(_ context.Context, _ *framework.InferenceRequest, profiles map[string]framework.Profile, _ map[string]*framework.ProfileRunResult) map[string]framework.Profile {
	return profiles
}

func TestScheduleErrors(t *testing.T) {
	q := newFakeScorer("q", "q", queueScore)
	none := &fakeFilter{name: "none", keep: func(framework.Endpoint) bool { return false }}
	failing := mustProfile(t, "default", []framework.Filter{none}, []*scheduler.WeightedScorer{mustWeighted(t, q, 1)}, &maxPicker{})
	s, err := scheduler.New(singleHandler{"default"}, map[string]*scheduler.Profile{"default": failing})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Schedule(context.Background(), &framework.InferenceRequest{}, testfleet.Upstream(3, "m"))
	if err == nil || !strings.Contains(err.Error(), "left no endpoints") {
		t.Errorf("err = %v, want the profile's error carried", err)
	}

	ok := mustProfile(t, "default", nil, []*scheduler.WeightedScorer{mustWeighted(t, q, 1)}, &maxPicker{})
	if _, err := ok.Run(context.Background(), nil, testfleet.Upstream(3, "m")); err == nil {
		t.Error("Run accepted a nil request")
	}
	s, err = scheduler.New(singleHandler{"default"}, map[string]*scheduler.Profile{"default": ok})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Schedule(context.Background(), nil, testfleet.Upstream(3, "m")); err == nil {
		t.Error("Schedule accepted a nil request")
	}

	s, err = scheduler.New(endlessHandler{}, map[string]*scheduler.Profile{"default": ok})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Schedule(context.Background(), &framework.InferenceRequest{}, testfleet.Upstream(3, "m")); err == nil {
		t.Error("a handler that never ends the cycle was not stopped")
	}
}

// TestConcurrentRuns shares one profile between goroutines of different
// fleet sizes: the recycled buffers must never mix requests.
func TestConcurrentRuns(t *testing.T) {
	tp, _ := newRecorder(t)
	prof := mustProfile(t, "p", nil, []*scheduler.WeightedScorer{
		mustWeighted(t, newFakeScorer("kv", "kv", kvScore), 1),
		mustWeighted(t, newFakeScorer("q", "q", queueScore), 1),
	}, &maxPicker{}, scheduler.WithTracerProvider(tp))
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			n := 3 + g*7
			eps := testfleet.Upstream(n, "m")
			// Endpoint 0 has queue 0 and KV 0: always the best.
			for range 200 {
				res, err := prof.Run(context.Background(), &framework.InferenceRequest{}, eps)
				if err != nil {
					errs <- err.Error()
					return
				}
				if res.TargetEndpoints[0] != eps[0] {
					errs <- "picked " + res.TargetEndpoints[0].GetMetadata().ID
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestSchedulerOptionsOverrideProfiles: options given to New apply to the
// scheduler's copies of the profiles, not to the profiles given.
func TestSchedulerOptionsOverrideProfiles(t *testing.T) {
	tp, rec := newRecorder(t)
	prof := mustProfile(t, "default", nil, []*scheduler.WeightedScorer{
		mustWeighted(t, newFakeScorer("q", "q", queueScore), 1),
	}, &maxPicker{}, scheduler.WithTracerProvider(tp))
	tests := []struct {
		name      string
		opts      []scheduler.Option
		wantSpans int
	}{
		// run_scheduler_profile, filter_endpoints, llm_d.epp.scoring, the
		// scorer, pick_endpoints.
		{"profile's own provider", nil, 5},
		{"WithoutTracing from New", []scheduler.Option{scheduler.WithoutTracing()}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scheduler.New(singleHandler{"default"}, map[string]*scheduler.Profile{"default": prof}, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			rec.Reset()
			if _, err := s.Schedule(context.Background(), &framework.InferenceRequest{}, testfleet.Upstream(3, "m")); err != nil {
				t.Fatal(err)
			}
			if got := len(rec.Ended()); got != tc.wantSpans {
				t.Errorf("Schedule: %d spans, want %d", got, tc.wantSpans)
			}
			rec.Reset()
			if _, err := prof.Run(context.Background(), &framework.InferenceRequest{}, testfleet.Upstream(3, "m")); err != nil {
				t.Fatal(err)
			}
			if got := len(rec.Ended()); got != 5 {
				t.Errorf("the given profile changed: %d spans, want 5", got)
			}
		})
	}
}

// TestResponseHeaders: the session scorer of a profile issues its token
// through Scheduler.ResponseHeaders, naming the primary profile's target.
func TestResponseHeaders(t *testing.T) {
	session := scorer.NewSessionAffinity("", "")
	ws := mustWeighted(t, session, 1)
	a := mustProfile(t, "a", nil, []*scheduler.WeightedScorer{ws}, &maxPicker{})
	b := mustProfile(t, "b", nil, []*scheduler.WeightedScorer{ws}, &maxPicker{})
	s, err := scheduler.New(twoProfiles{}, map[string]*scheduler.Profile{"a": a, "b": b})
	if err != nil {
		t.Fatal(err)
	}
	eps := testfleet.Upstream(3, "m")
	req := &framework.InferenceRequest{TargetModel: "m"}
	res, err := s.Schedule(context.Background(), req, eps)
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	s.ResponseHeaders(context.Background(), req, res, headers)
	target := res.ProfileResults[res.PrimaryProfileName].TargetEndpoints[0].GetMetadata().ID
	if len(headers) != 1 || headers[scorer.DefaultSessionHeader] != scorer.SessionToken(target) {
		t.Errorf("response headers %v, want the session token of %s", headers, target)
	}
}
