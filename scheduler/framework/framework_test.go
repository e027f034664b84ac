package framework_test

import (
	"context"
	"math"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
)

func TestNewTypedName(t *testing.T) {
	tests := []struct {
		typ, name string
		want      framework.TypedName
		str       string
	}{
		{"queue-scorer", "", framework.TypedName{Type: "queue-scorer", Name: "queue-scorer"}, "queue-scorer/queue-scorer"},
		{"queue-scorer", "short", framework.TypedName{Type: "queue-scorer", Name: "short"}, "short/queue-scorer"},
	}
	for _, tc := range tests {
		got := framework.NewTypedName(tc.typ, tc.name)
		if got != tc.want || got.String() != tc.str {
			t.Errorf("NewTypedName(%q, %q) = %+v (%s), want %+v (%s)", tc.typ, tc.name, got, got, tc.want, tc.str)
		}
	}
}

func TestClamp01AndScored(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{-1, 0}, {math.Inf(-1), 0}, {0, 0}, {0.25, 0.25}, {1, 1}, {3, 1}, {math.Inf(1), 1},
	}
	for _, tc := range tests {
		if got := framework.Clamp01(tc.in); got != tc.want {
			t.Errorf("Clamp01(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !framework.Scored(tc.in) {
			t.Errorf("Scored(%v) = false", tc.in)
		}
	}
	if framework.Scored(framework.NoScore) {
		t.Error("Scored(NoScore) = true")
	}
}

// halfMapScorer is an upstream-shaped scorer that scores every other
// endpoint, and also returns a score for an endpoint it was not given.
type halfMapScorer struct{ stranger framework.Endpoint }

func (halfMapScorer) TypedName() framework.TypedName     { return framework.NewTypedName("half", "") }
func (halfMapScorer) Category() framework.ScorerCategory { return framework.Balance }

func (s halfMapScorer) Score(_ context.Context, _ *framework.InferenceRequest, eps []framework.Endpoint) map[framework.Endpoint]float64 {
	m := map[framework.Endpoint]float64{s.stranger: 1}
	for i, ep := range eps {
		if i%2 == 0 {
			m[ep] = float64(i) / 10
		}
	}
	return m
}

func TestAdaptMapScorer(t *testing.T) {
	eps := make([]framework.Endpoint, 5)
	for i := range eps {
		eps[i] = &framework.SimpleEndpoint{}
	}
	s := framework.AdaptMapScorer(halfMapScorer{stranger: &framework.SimpleEndpoint{}})
	if s.TypedName().Type != "half" || s.Category() != framework.Balance {
		t.Errorf("identity %v, category %v: not the wrapped scorer's", s.TypedName(), s.Category())
	}
	scores := []float64{framework.NoScore, framework.NoScore, framework.NoScore, framework.NoScore, framework.NoScore}
	s.Score(context.Background(), &framework.InferenceRequest{}, eps, scores)
	for i, got := range scores {
		if i%2 == 1 {
			if framework.Scored(got) {
				t.Errorf("endpoint %d missing from the map scored %v, want NoScore", i, got)
			}
			continue
		}
		if want := float64(i) / 10; got != want {
			t.Errorf("endpoint %d: score %v, want %v", i, got, want)
		}
	}
}

// learningMapScorer is an upstream-shaped scorer that learns from the pick.
type learningMapScorer struct {
	halfMapScorer
	pre *int
}

func (s learningMapScorer) PreRequest(context.Context, *framework.InferenceRequest, *framework.SchedulingResult) {
	*s.pre++
}

func TestAdaptMapScorerKeepsPreRequest(t *testing.T) {
	if _, ok := framework.AdaptMapScorer(halfMapScorer{}).(framework.PreRequest); ok {
		t.Error("the adapter of a scorer without PreRequest implements it")
	}
	var calls int
	adapted, ok := framework.AdaptMapScorer(learningMapScorer{pre: &calls}).(framework.PreRequest)
	if !ok {
		t.Fatal("the adapter hides the wrapped scorer's PreRequest")
	}
	adapted.PreRequest(context.Background(), &framework.InferenceRequest{}, &framework.SchedulingResult{})
	if calls != 1 {
		t.Errorf("wrapped PreRequest called %d times, want 1", calls)
	}
	if adapted.TypedName().Type != "half" {
		t.Errorf("identity %v, want the wrapped scorer's", adapted.TypedName())
	}
}

func TestRequestData(t *testing.T) {
	req := &framework.InferenceRequest{}
	if _, ok := req.Data("a"); ok {
		t.Fatal("empty request has data")
	}
	req.SetData("a", 1)
	req.SetData("b", "two")
	req.SetData("a", 3)
	if v, ok := req.Data("a"); !ok || v != 3 {
		t.Errorf("Data(a) = %v, %v; want the replaced value 3", v, ok)
	}
	if v, ok := req.Data("b"); !ok || v != "two" {
		t.Errorf("Data(b) = %v, %v", v, ok)
	}
}

func TestAdapter(t *testing.T) {
	if got := (&framework.InferenceRequest{TargetModel: "base"}).Adapter(); got != "base" {
		t.Errorf("Adapter without LoRAAdapter = %q, want the target model", got)
	}
	if got := (&framework.InferenceRequest{TargetModel: "base", LoRAAdapter: "sql"}).Adapter(); got != "sql" {
		t.Errorf("Adapter = %q, want sql", got)
	}
}

func TestGetAttribute(t *testing.T) {
	var s framework.AttributeStore
	if _, ok := framework.GetAttribute[int](&s, "n"); ok {
		t.Fatal("empty store has n")
	}
	s.Put("n", 7)
	if v, ok := framework.GetAttribute[int](&s, "n"); !ok || v != 7 {
		t.Errorf("GetAttribute[int] = %v, %v; want 7, true", v, ok)
	}
	if v, ok := framework.GetAttribute[string](&s, "n"); ok || v != "" {
		t.Errorf("GetAttribute[string] of an int = %q, %v; want zero, false", v, ok)
	}
}
