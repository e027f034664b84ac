package schema

// Decision signals: our extension to upstream's schema (issue 12).
//
// Upstream's EPP says what each scorer returned (score.max, score.avg) but
// not what it was worth to the pick. These keys say, for a recorded chain
// only, which scorers decided the pick, how close the race was and whether
// the winner was a coin toss among ties. They are aggregates over the
// chain's candidates: none names an endpoint, so they may leave the EPP.
// Upstream's spans never carry them; the fixture-shape tests accept them
// on our spans as documented extensions (Extension), nothing else.
//
// Definitions (docs/decisions.md holds the same, with the reasons). Let the
// chain's scorers be i = 1..S with weights w_i, its candidates e = 1..N,
// and c_i(e) = clamp01(s_i(e))·w_i the contribution of scorer i to endpoint
// e, 0 when the scorer gave e no score (an unscored endpoint stays a
// candidate; its total just lacks that term). T(e) = Σ_i c_i(e), summed in
// scorer order, is the weighted total handed to the picker.
//
//   - The top set A is the endpoints whose total equals max T exactly. The
//     primary pick is drawn from A (a max-score picker picks in A; with
//     |A| > 1 the pick is a coin toss). A picker that returns several
//     endpoints (fallbacks) is judged by its primary pick only; a picker
//     that draws outside A (weighted random) is not observed: the signals
//     describe the totals it was handed.
//   - AttrScoringTied = |A| (>= 1).
//   - AttrScoringMargin = (T1 - T2) / Σ_i w_i, where T1 is max T and T2 the
//     largest total of the endpoints outside A, or T1 when |A| > 1 (margin
//     0). Set only with at least two candidates and Σ w_i > 0; in [0, 1]
//     when the weights are positive.
//   - AttrScorerDecisive (on each scorer span) is true when the top set
//     computed without that scorer's contributions, A_-i (totals summed in
//     the same order, skipping i), differs from A: without the scorer the
//     pick would have been made among other endpoints. With one candidate
//     no scorer is decisive.
//
// With no candidate, or when the chain's instrumentation did not see every
// scorer's scores, none of these keys is set.
const (
	// AttrScorerDecisive tells whether removing the scorer's weighted
	// contribution changes the top set the primary pick is drawn from
	// (bool, on a scorer span of a recorded chain).
	AttrScorerDecisive = "llm_d.epp.scorer.decisive"
	// AttrScoringMargin is the gap between the best and the runner-up
	// weighted totals, divided by the sum of the chain's weights so that
	// profiles compare (double, on SpanScoring; at least two candidates).
	AttrScoringMargin = "llm_d.epp.scoring.margin"
	// AttrScoringTied is the number of candidates whose weighted total
	// equals the best (int, on SpanScoring; 1 when the best is alone).
	AttrScoringTied = "llm_d.epp.scoring.tied_endpoints"
)

// Extension returns the value type of key when it is one of our documented
// extensions to upstream's schema on a span of the given kind (the decision
// signals), TypeNone otherwise. Upstream's spans never carry these keys;
// shape comparisons with upstream's traces accept them, and only them.
func Extension(kind SpanKind, key string) Type {
	switch kind {
	case Scoring:
		switch key {
		case AttrScoringMargin:
			return TypeFloat
		case AttrScoringTied:
			return TypeInt
		}
	case Scorer:
		if key == AttrScorerDecisive {
			return TypeBool
		}
	}
	return TypeNone
}
