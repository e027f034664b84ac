package picker

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// candidates returns scored endpoints named "0", "1", ... with the scores.
func candidates(scores ...float64) []*framework.ScoredEndpoint {
	out := make([]*framework.ScoredEndpoint, len(scores))
	for i, s := range scores {
		ep := &framework.SimpleEndpoint{Metadata: framework.EndpointMetadata{ID: fmt.Sprint(i)}}
		out[i] = &framework.ScoredEndpoint{Endpoint: ep, Score: s}
	}
	return out
}

func ids(r *framework.ProfileRunResult) []string {
	out := make([]string, len(r.TargetEndpoints))
	for i, ep := range r.TargetEndpoints {
		out[i] = ep.GetMetadata().ID
	}
	return out
}

// counts picks rounds times and counts how often each endpoint is kept.
func counts(p framework.Picker, scored []*framework.ScoredEndpoint, rounds int) map[string]int {
	c := map[string]int{}
	for range rounds {
		for _, id := range ids(p.Pick(context.Background(), scored)) {
			c[id]++
		}
	}
	return c
}

func pickers(opts ...Option) []framework.Picker {
	return []framework.Picker{NewMaxScore("", opts...), NewRandom("", opts...), NewWeightedRandom("", opts...)}
}

func TestTypedNames(t *testing.T) {
	for _, tt := range []struct {
		p    framework.Picker
		want framework.TypedName
	}{
		{NewMaxScore(""), framework.TypedName{Type: MaxScoreType, Name: MaxScoreType}},
		{NewMaxScore("best"), framework.TypedName{Type: MaxScoreType, Name: "best"}},
		{NewRandom(""), framework.TypedName{Type: RandomType, Name: RandomType}},
		{NewWeightedRandom("w"), framework.TypedName{Type: WeightedRandomType, Name: "w"}},
	} {
		if got := tt.p.TypedName(); got != tt.want {
			t.Errorf("TypedName = %+v, want %+v", got, tt.want)
		}
	}
}

func TestMaxScore(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		scores []float64
		want   []string
	}{
		{"single best", 1, []float64{0.2, 0.9, 0.5}, []string{"1"}},
		{"keeps n, best first", 2, []float64{0.2, 0.9, 0.5}, []string{"1", "2"}},
		{"n beyond candidates", 5, []float64{0.2, 0.9}, []string{"1", "0"}},
		{"nan ranks last", 2, []float64{math.NaN(), 0.1, math.NaN()}, []string{"1", "0"}},
		{"infinities", 2, []float64{math.Inf(-1), math.Inf(1), 3}, []string{"1", "2"}},
		{"negative scores", 1, []float64{-3, -1, -2}, []string{"1"}},
		{"empty", 1, nil, []string{}},
		{"max below one is one", 0, []float64{0.1, 0.3}, []string{"1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewMaxScore("", WithMaxEndpoints(tt.max), WithSeed(1)).Pick(context.Background(), candidates(tt.scores...))
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("picked %v, want %v", ids(got), tt.want)
			}
		})
	}
}

// TestMaxScoreTieBreakFair: tied endpoints each win about a quarter of the
// picks; the lower one never does. The seed is fixed, so this cannot flake;
// the bound (800 of an expected 1000, over 7 standard deviations) keeps it
// meaningful for any seed.
func TestMaxScoreTieBreakFair(t *testing.T) {
	c := counts(NewMaxScore("", WithSeed(42)), candidates(0.7, 0.9, 0.9, 0.9, 0.9), 4000)
	if c["0"] != 0 {
		t.Errorf("the lower endpoint won %d picks", c["0"])
	}
	for _, id := range []string{"1", "2", "3", "4"} {
		if c[id] < 800 {
			t.Errorf("tied endpoint %s won %d of 4000 picks, want about 1000: %v", id, c[id], c)
		}
	}
}

// TestMaxScoreTieAtCut: the best endpoint is always kept first; the second
// slot goes to each of the three tied endpoints about equally.
func TestMaxScoreTieAtCut(t *testing.T) {
	p := NewMaxScore("", WithMaxEndpoints(2), WithSeed(7))
	scored := candidates(0.5, 0.9, 0.5, 0.1, 0.5)
	c := map[string]int{}
	for range 3000 {
		got := ids(p.Pick(context.Background(), scored))
		if len(got) != 2 || got[0] != "1" {
			t.Fatalf("picked %v, want the best first and two in all", got)
		}
		c[got[1]]++
	}
	for _, id := range []string{"0", "2", "4"} {
		if c[id] < 800 {
			t.Errorf("tied endpoint %s took the second slot %d of 3000 times, want about 1000: %v", id, c[id], c)
		}
	}
	if c["3"] != 0 {
		t.Errorf("the worst endpoint was kept %d times", c["3"])
	}
}

func TestRandomUniform(t *testing.T) {
	// Scores are ignored: the 0-scored endpoint wins as often as the others.
	c := counts(NewRandom("", WithSeed(3)), candidates(0, 1, 1, 1), 4000)
	for _, id := range []string{"0", "1", "2", "3"} {
		if c[id] < 800 {
			t.Errorf("endpoint %s won %d of 4000, want about 1000: %v", id, c[id], c)
		}
	}
}

// TestWeightedRandomProportional: with one slot A-Res picks in proportion
// to score. The bound, 0.02 of the share over 20000 picks, is over 6
// standard deviations.
func TestWeightedRandomProportional(t *testing.T) {
	scores := []float64{1, 2, 3, 4}
	const rounds = 20000
	c := counts(NewWeightedRandom("", WithSeed(11)), candidates(scores...), rounds)
	for i, s := range scores {
		got, want := float64(c[fmt.Sprint(i)])/rounds, s/10
		if math.Abs(got-want) > 0.02 {
			t.Errorf("endpoint %d with score %v won %.3f of picks, want %.3f", i, s, got, want)
		}
	}
}

func TestWeightedRandomNonPositive(t *testing.T) {
	t.Run("all non-positive is uniform", func(t *testing.T) {
		c := counts(NewWeightedRandom("", WithSeed(5)), candidates(0, -1, math.NaN(), 0), 4000)
		for _, id := range []string{"0", "1", "2", "3"} {
			if c[id] < 800 {
				t.Errorf("endpoint %s won %d of 4000, want about 1000: %v", id, c[id], c)
			}
		}
	})
	t.Run("positive first", func(t *testing.T) {
		p := NewWeightedRandom("", WithSeed(5), WithMaxEndpoints(3))
		for range 500 {
			got := ids(p.Pick(context.Background(), candidates(0, 0.001, -1, 0.002)))
			if len(got) != 3 || !slices.Contains(got[:2], "1") || !slices.Contains(got[:2], "3") {
				t.Fatalf("picked %v, want the two positive endpoints first", got)
			}
		}
	})
}

// TestPickersDistinct: several slots never repeat an endpoint, and every
// candidate is kept when there are slots for all.
func TestPickersDistinct(t *testing.T) {
	scored := candidates(0.3, 0.3, 0.9, 0, 0.5, 0.3, 0.1, 0.3, 0.3, 0.2, 0.7, 0.3)
	for _, p := range pickers(WithMaxEndpoints(10), WithSeed(9)) {
		for range 200 {
			got := ids(p.Pick(context.Background(), scored))
			if len(got) != 10 {
				t.Fatalf("%s kept %d, want 10", p.TypedName(), len(got))
			}
			sorted := slices.Clone(got)
			slices.Sort(sorted)
			if len(slices.Compact(sorted)) != 10 {
				t.Fatalf("%s repeated an endpoint: %v", p.TypedName(), got)
			}
		}
	}
	for _, p := range pickers(WithMaxEndpoints(20), WithSeed(9)) {
		if got := p.Pick(context.Background(), scored); len(got.TargetEndpoints) != len(scored) {
			t.Errorf("%s kept %d of %d with room for all", p.TypedName(), len(got.TargetEndpoints), len(scored))
		}
	}
}

func TestPickersDeterministicWithSeed(t *testing.T) {
	scored := candidates(0.5, 0.5, 0.5, 0.2, 0.5, 0.4, 0.5)
	build := func(seed uint64) []framework.Picker { return pickers(WithMaxEndpoints(2), WithSeed(seed)) }
	a, b, other := build(123), build(123), build(124)
	for i := range a {
		var seqA, seqB, seqO []string
		for range 100 {
			seqA = append(seqA, ids(a[i].Pick(context.Background(), scored))...)
			seqB = append(seqB, ids(b[i].Pick(context.Background(), scored))...)
			seqO = append(seqO, ids(other[i].Pick(context.Background(), scored))...)
		}
		if !slices.Equal(seqA, seqB) {
			t.Errorf("%s: same seed, different picks", a[i].TypedName())
		}
		if slices.Equal(seqA, seqO) {
			t.Errorf("%s: different seeds, same 100 picks", a[i].TypedName())
		}
	}
}

func TestPickersEmptyAndNil(t *testing.T) {
	for _, p := range pickers() {
		for _, in := range [][]*framework.ScoredEndpoint{nil, {}, {nil, nil}} {
			got := p.Pick(context.Background(), in)
			if got == nil || len(got.TargetEndpoints) != 0 {
				t.Errorf("%s on %v: %+v, want an empty result", p.TypedName(), in, got)
			}
		}
		scored := append(candidates(0.4), nil)
		if got := ids(p.Pick(context.Background(), scored)); !slices.Equal(got, []string{"0"}) {
			t.Errorf("%s with a nil entry picked %v", p.TypedName(), got)
		}
	}
}

// TestPickersAllocs: the result is the only allocation of a pick, and a
// single one up to 16 endpoints kept.
func TestPickersAllocs(t *testing.T) {
	scored := candidates(0.5, 0.9, 0.9, 0.1, 0.9, 0.3, 0.2, 0.9, 0.6, 0.9, 0.5, 0.9, 0.9, 0.1, 0.9, 0.3, 0.2, 0.9, 0.6, 0.9)
	ctx := context.Background()
	for _, tt := range []struct {
		max  int
		want float64
	}{{1, 1}, {2, 1}, {4, 1}, {5, 1}, {16, 1}, {17, 2}} {
		for _, p := range pickers(WithMaxEndpoints(tt.max)) {
			want := tt.want
			if _, ok := p.(*WeightedRandom); ok && tt.max > keysOnStack {
				want++ // the keys leave the stack too
			}
			if a := testing.AllocsPerRun(200, func() { p.Pick(ctx, scored) }); a != want {
				t.Errorf("%s keeping %d: %v allocs per Pick, want %v", p.TypedName(), tt.max, a, want)
			}
		}
	}
}

// TestPickersConcurrent is for -race.
func TestPickersConcurrent(t *testing.T) {
	scored := candidates(0.5, 0.5, 0.5, 0.1)
	for _, p := range pickers(WithMaxEndpoints(2)) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 500 {
					if got := p.Pick(context.Background(), scored); len(got.TargetEndpoints) != 2 {
						t.Errorf("%s kept %d", p.TypedName(), len(got.TargetEndpoints))
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
