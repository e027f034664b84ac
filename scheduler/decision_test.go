package scheduler_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/scorelens/scorelens/scheduler"
	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
	"github.com/scorelens/scorelens/scheduler/plugins/picker"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// TestDecisionIgnoresThePicker: the decision signals are of the weighted
// totals the picker is handed, so a max-score picker that returns the
// three best endpoints (the primary pick and two fallbacks), a random
// picker and the single max-score pick all get the same ones: prefix
// affinity (weight 1) prefers endpoint 0, queue depth (weight 2) endpoint
// 1 and decides; endpoint 3 is left unscored by the queue scorer.
func TestDecisionIgnoresThePicker(t *testing.T) {
	prefix := []float64{1, 0, 0, 0.5}
	queue := []float64{0, 1, 0.5, math.NaN()}
	for _, pk := range []framework.Picker{
		picker.NewMaxScore("", picker.WithSeed(1)),
		picker.NewMaxScore("", picker.WithSeed(1), picker.WithMaxEndpoints(3)),
		picker.NewRandom("", picker.WithSeed(1)),
	} {
		t.Run(fmt.Sprint(pk.TypedName()), func(t *testing.T) {
			tp, rec := newRecorder(t)
			prof := mustProfile(t, "default", nil, []*scheduler.WeightedScorer{
				mustWeighted(t, newFakeScorer("prefix", "p", func(i int, _ framework.Endpoint) float64 { return prefix[i] }), 1),
				mustWeighted(t, newFakeScorer("queue", "q", func(i int, _ framework.Endpoint) float64 { return queue[i] }), 2),
			}, pk, scheduler.WithTracerProvider(tp))
			if _, err := prof.Run(context.Background(), &framework.InferenceRequest{TargetModel: "m"}, testfleet.Upstream(4, "m")); err != nil {
				t.Fatal(err)
			}
			// totals 1, 2, 1, 0.5: 1 alone on top, 1 below it, weights sum 3
			for _, s := range rec.Ended() {
				m := attrMap(t, s)
				switch s.Name() {
				case schema.SpanScoring:
					if m[schema.AttrScoringTied] != attribute.IntValue(1) || m[schema.AttrScoringMargin] != attribute.Float64Value(1.0/3) {
						t.Errorf("tied %v margin %v, want 1 and 1/3", m[schema.AttrScoringTied].Emit(), m[schema.AttrScoringMargin].Emit())
					}
				case schema.ScorerSpanPrefix + "prefix", schema.ScorerSpanPrefix + "queue":
					want := s.Name() == schema.ScorerSpanPrefix+"queue"
					if m[schema.AttrScorerDecisive] != attribute.BoolValue(want) {
						t.Errorf("%s decisive %v, want %v", s.Name(), m[schema.AttrScorerDecisive].Emit(), want)
					}
				}
			}
		})
	}
}
