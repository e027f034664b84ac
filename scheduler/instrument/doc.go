// Package instrument makes the scheduling spans of an Endpoint Picker: the
// scoring chain (llm_d.epp.scoring and one llm_d.epp.scorer.<type> per
// scorer) and upstream llm-d's spans around it (run_scheduler_profile,
// filter_endpoints, pick_endpoints), with the names, keys and value types of
// package schema, as upstream's own code emits them, minus the endpoint ids
// (nothing here ever names an endpoint).
//
// It depends on no framework type: an EPP with its own request, endpoint
// and scorer types calls it from its own profile runner. The scoring chain
// alone is what an EPP that already has upstream's other spans adopts:
//
//	ctx, chain := tracer.StartChain(ctx, instrument.Request{Model: req.TargetModel, ID: req.RequestID}, len(scorers), len(endpoints))
//	for i, s := range scorers {
//		scores := instrument.ScoreEndpoints(ctx, chain, spans[i], endpoints, func(ctx context.Context) map[Endpoint]float64 {
//			return s.Score(ctx, req, endpoints)
//		})
//		// ... weight and sum as before
//	}
//	chain.End()
//
// where tracer is a *Tracer built once (NewTracer) and spans[i] a *Scorer
// built once per configured scorer (NewScorer): the span name and the
// type, name and weight attributes are not rebuilt per request.
//
// # Costs
//
// The tracer is resolved once, not per request: with an explicit provider
// at construction; following the OTel global (the default), with one
// atomic load per root span, re-resolved only when the global changes. The
// global's default provider before an SDK is installed and the no-op
// providers resolve to "off": every call then returns at once, with no span
// started and nothing allocated. A nil *Tracer is off as well.
//
// Whether anything records is decided once, by the root span
// (run_scheduler_profile for StartProfile, llm_d.epp.scoring for
// StartChain): when it does not record, its children are not started and no
// attribute is built (an unsampled request costs the SDK's Start of the
// root, two allocations, and nothing per scorer); the context still carries
// the root so that a plugin's own spans follow the same decision.
//
// # Aggregates
//
// score.max and score.avg are over the raw scores the scorer returned, as
// upstream computes them: before clamping to [0,1] and before the weight.
// A NaN score means "no score" and is skipped (upstream's map has no entry
// for such an endpoint); a scorer that scored nothing gets no aggregate and
// no endpoints_scored, never a division by zero.
//
// # Decision signals
//
// When every scorer of a recorded chain ends with its scores by candidate
// (ScoreEndpoints, EndEndpoints or ScorerSpan.EndSlice, over the same
// candidates in the same order), Chain.End computes, from each scorer's
// clamped and weighted contribution, which scorers were decisive
// (schema.AttrScorerDecisive on each scorer span), the normalized margin
// of the best total over the runner-up (schema.AttrScoringMargin) and how
// many candidates tie at the top (schema.AttrScoringTied), as package
// schema defines them, one candidate, ties, several picks and unscored
// endpoints included. The scorer spans then stay open until the chain
// ends, each ending with the time its scorer returned. Nothing of it runs
// when the chain does not record; a recorded chain adds one allocation per
// scorer (its boxed end time) and O(scorers² × candidates) additions, in
// buffers the Tracer recycles. A scorer ended with End, EndMap or Score
// leaves the chain without signals (never with wrong ones).
//
// Values (Profile, Chain, ScorerSpan, ...) are small structs passed by
// value; a zero value is "not recording" and all its methods are no-ops.
// The spans of one root share one attribute buffer in turn: a root's
// children must end before it, on the goroutine that started them.
package instrument
