package instrument_test

import (
	"context"
	"math"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/scorelens/scorelens/scheduler/instrument"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// decided is what a recorded chain says about its decision: nil pointers
// for keys that are absent.
type decided struct {
	tied     *int64
	margin   *float64
	decisive []*bool // per scorer span, in the chain's order
}

// runChain scores a hand-built chain: scores[i][e] is scorer i's raw score
// of candidate e (NaN: none), each ended with EndSlice; it returns what
// the recorded spans carry.
func runChain(t *testing.T, weights []float64, scores [][]float64, candidates int) decided {
	t.Helper()
	tp, rec := newRecorder(t)
	tr := instrument.NewTracer(instrument.WithTracerProvider(tp))
	ctx, chain := tr.StartChain(context.Background(), instrument.Request{Model: "m"}, len(weights), candidates)
	for i, w := range weights {
		_, span := chain.StartScorer(ctx, instrument.NewScorer("s", string(rune('a'+i)), w), candidates)
		span.EndSlice(scores[i])
	}
	chain.End()
	return readDecision(t, rec.Ended(), len(weights))
}

func readDecision(t *testing.T, spans []sdktrace.ReadOnlySpan, scorers int) decided {
	t.Helper()
	var d decided
	for _, s := range spans {
		switch schema.Classify(s.Name()) {
		case schema.Scoring:
			for _, kv := range s.Attributes() {
				switch string(kv.Key) {
				case schema.AttrScoringTied:
					v := kv.Value.AsInt64()
					d.tied = &v
				case schema.AttrScoringMargin:
					v := kv.Value.AsFloat64()
					d.margin = &v
				}
			}
		case schema.Scorer:
			var flag *bool
			for _, kv := range s.Attributes() {
				if string(kv.Key) == schema.AttrScorerDecisive {
					v := kv.Value.AsBool()
					flag = &v
				}
			}
			d.decisive = append(d.decisive, flag)
		}
	}
	if len(d.decisive) != scorers {
		t.Fatalf("%d scorer spans ended, want %d", len(d.decisive), scorers)
	}
	return d
}

func TestDecisionOnHandBuiltChains(t *testing.T) {
	nan := math.NaN()
	const none = -1.0 // no margin expected
	tests := []struct {
		name       string
		weights    []float64
		scores     [][]float64
		wantTied   int64
		wantMargin float64
		want       []bool
	}{
		{
			// nothing to pick instead: no scorer decides, no runner-up
			name: "one candidate", weights: []float64{1, 2},
			scores:   [][]float64{{0.9}, {0.1}},
			wantTied: 1, wantMargin: none, want: []bool{false, false},
		},
		{
			// without a, both tie at 0.5: a decided; without b, 0 still wins
			name: "one decides", weights: []float64{1, 1},
			scores:   [][]float64{{1, 0}, {0.5, 0.5}},
			wantTied: 1, wantMargin: 0.5, want: []bool{true, false},
		},
		{
			// each alone would pick 0: neither is decisive by itself
			name: "redundant scorers", weights: []float64{1, 1},
			scores:   [][]float64{{1, 0}, {1, 0}},
			wantTied: 1, wantMargin: 1, want: []bool{false, false},
		},
		{
			// prefix affinity prefers 0, queue depth (weight 2) 1: queue wins
			name: "queue overrides prefix", weights: []float64{1, 2},
			scores:   [][]float64{{1, 0, 0}, {0, 1, 0.5}},
			wantTied: 1, wantMargin: 1.0 / 3, want: []bool{false, true},
		},
		{
			// 0 and 1 tie: a coin toss, margin 0; a made the tie (all 0 without it)
			name: "tie at the top", weights: []float64{1, 1},
			scores:   [][]float64{{1, 1, 0}, {0.5, 0.5, 0.5}},
			wantTied: 2, wantMargin: 0, want: []bool{true, false},
		},
		{
			// b breaks a's tie: without b the pick is a coin toss between 0 and 1
			name: "tie broken", weights: []float64{1, 0.5},
			scores:   [][]float64{{1, 1}, {1, 0}},
			wantTied: 1, wantMargin: 0.5 / 1.5, want: []bool{false, true},
		},
		{
			// unscored endpoints stay candidates with no contribution from
			// the scorer that skipped them: totals 0.2, 0.1, 0.3
			name: "unscored endpoints", weights: []float64{1, 1},
			scores:   [][]float64{{nan, nan, 0.3}, {0.2, 0.1, nan}},
			wantTied: 1, wantMargin: (0.3 - 0.2) / 2, want: []bool{true, false},
		},
		{
			// nobody scored anything: every candidate ties at 0
			name: "all unscored", weights: []float64{1},
			scores:   [][]float64{{nan, nan, nan}},
			wantTied: 3, wantMargin: 0, want: []bool{false},
		},
		{
			// raw scores clamped to [0,1] before weighting: totals 1, 0, 0.5
			name: "clamped", weights: []float64{1},
			scores:   [][]float64{{3, -1, 0.5}},
			wantTied: 1, wantMargin: 0.5, want: []bool{true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := runChain(t, tc.weights, tc.scores, len(tc.scores[0]))
			if d.tied == nil || *d.tied != tc.wantTied {
				t.Errorf("tied %v, want %d", deref(d.tied), tc.wantTied)
			}
			switch {
			case tc.wantMargin == none && d.margin != nil:
				t.Errorf("margin %v, want none", *d.margin)
			case tc.wantMargin != none && (d.margin == nil || math.Abs(*d.margin-tc.wantMargin) > 1e-12):
				t.Errorf("margin %v, want %v", deref(d.margin), tc.wantMargin)
			}
			for i, w := range tc.want {
				if d.decisive[i] == nil || *d.decisive[i] != w {
					t.Errorf("scorer %d decisive %v, want %v", i, deref(d.decisive[i]), w)
				}
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return "absent"
	}
	return *p
}

// TestNoDecisionWithoutEveryScore: the signals need every scorer's scores
// by candidate; a chain that lacks them, or has no candidate, carries none
// (never a wrong one), and its spans end all the same.
func TestNoDecisionWithoutEveryScore(t *testing.T) {
	tests := []struct {
		name string
		run  func(ctx context.Context, chain instrument.Chain, a, b *instrument.Scorer)
		n    int // candidates declared
	}{
		{"a scorer ended with End", func(ctx context.Context, c instrument.Chain, a, b *instrument.Scorer) {
			_, s := c.StartScorer(ctx, a, 2)
			s.EndSlice([]float64{1, 0})
			_, s = c.StartScorer(ctx, b, 2)
			s.End(instrument.Stats{Scored: 1, Max: 1, Sum: 1})
		}, 2},
		{"a scorer ended with EndMap", func(ctx context.Context, c instrument.Chain, a, b *instrument.Scorer) {
			_, s := c.StartScorer(ctx, a, 2)
			instrument.EndMap(s, map[string]float64{"x": 1})
			_, s = c.StartScorer(ctx, b, 2)
			s.EndSlice([]float64{1, 0})
		}, 2},
		{"fewer scores than candidates", func(ctx context.Context, c instrument.Chain, a, b *instrument.Scorer) {
			_, s := c.StartScorer(ctx, a, 2)
			s.EndSlice([]float64{1, 0})
			_, s = c.StartScorer(ctx, b, 2)
			s.EndSlice([]float64{1})
		}, 2},
		{"fewer scorers than declared", func(ctx context.Context, c instrument.Chain, a, _ *instrument.Scorer) {
			_, s := c.StartScorer(ctx, a, 2)
			s.EndSlice([]float64{1, 0})
		}, 2},
		{"no candidate", func(ctx context.Context, c instrument.Chain, a, b *instrument.Scorer) {
			_, s := c.StartScorer(ctx, a, 0)
			s.EndSlice(nil)
			_, s = c.StartScorer(ctx, b, 0)
			s.EndSlice(nil)
		}, 0},
	}
	a, b := instrument.NewScorer("s", "a", 1), instrument.NewScorer("s", "b", 1)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, rec := newRecorder(t)
			tr := instrument.NewTracer(instrument.WithTracerProvider(tp))
			ctx, chain := tr.StartChain(context.Background(), instrument.Request{}, 2, tc.n)
			tc.run(ctx, chain, a, b)
			chain.End()
			spans := rec.Ended()
			if len(spans) < 2 {
				t.Fatalf("%d spans ended", len(spans))
			}
			for _, s := range spans {
				for _, kv := range s.Attributes() {
					if schema.Extension(schema.Classify(s.Name()), string(kv.Key)) != schema.TypeNone {
						t.Errorf("%s carries %s = %v without every score", s.Name(), kv.Key, kv.Value.Emit())
					}
				}
			}
		})
	}
}

// TestScoreEndpoints: the upstream-shaped path, with scores keyed by the
// EPP's own endpoint type and endpoints missing from a scorer's map, gives
// the same decision as the slice path, and the scorer spans end when their
// scorer returned, not with the chain.
func TestScoreEndpoints(t *testing.T) {
	tp, rec := newRecorder(t)
	tr := instrument.NewTracer(instrument.WithTracerProvider(tp))
	eps := []namespacedName{{"ns", "p0"}, {"ns", "p1"}, {"ns", "p2"}}
	maps := []map[namespacedName]float64{
		{eps[2]: 0.3},              // p0 and p1 unscored
		{eps[0]: 0.2, eps[1]: 0.1}, // p2 unscored
	}
	ctx, chain := tr.StartChain(context.Background(), instrument.Request{Model: "m"}, 2, len(eps))
	for i, m := range maps {
		got := instrument.ScoreEndpoints(ctx, chain, instrument.NewScorer("s", string(rune('a'+i)), 1), eps,
			func(context.Context) map[namespacedName]float64 { return m })
		if len(got) != len(m) {
			t.Errorf("scorer %d: map of %d returned as %d", i, len(m), len(got))
		}
	}
	chain.End()
	spans := rec.Ended()
	d := readDecision(t, spans, 2)
	if deref(d.tied) != int64(1) || d.margin == nil || math.Abs(*d.margin-0.05) > 1e-12 ||
		deref(d.decisive[0]) != true || deref(d.decisive[1]) != false {
		t.Errorf("tied %v margin %v decisive %v %v, want 1, 0.05, true, false",
			deref(d.tied), deref(d.margin), deref(d.decisive[0]), deref(d.decisive[1]))
	}
	var first, second, parent sdktrace.ReadOnlySpan
	for _, s := range spans {
		switch {
		case s.Name() == schema.SpanScoring:
			parent = s
		case hasAttr(s, schema.AttrScorerName, "a"):
			first = s
		case hasAttr(s, schema.AttrScorerName, "b"):
			second = s
		}
	}
	if first == nil || second == nil || parent == nil {
		t.Fatal("spans missing")
	}
	if first.EndTime().After(second.StartTime()) || second.EndTime().After(parent.EndTime()) {
		t.Errorf("scorer spans end %v, %v (next starts %v), chain %v: each must end when its scorer returned",
			first.EndTime(), second.EndTime(), second.StartTime(), parent.EndTime())
	}
}

func hasAttr(s sdktrace.ReadOnlySpan, key, val string) bool {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value == attribute.StringValue(val)
		}
	}
	return false
}
