// Package scheduler is an EPP-style request scheduler whose scorer chain is
// traced with OpenTelemetry, at no cost when tracing is off.
//
// # Flow
//
//	Scheduler.Schedule(ctx, req, candidates)
//	├─ handler.Pick → profiles to run (repeated until it picks none)
//	│   └─ Profile.Run(ctx, req, candidates)
//	│       ├─ filters, in order, on a copy of the candidates (error if none left)
//	│       ├─ weighted scorers: total[i] += Clamp01(score[i]) * weight   ← traced
//	│       └─ picker.Pick(scored endpoints)
//	├─ handler.ProcessResults → SchedulingResult
//	└─ PreRequest(result) on every filter, scorer and picker of the profiles
//	   that produced a result and implement framework.PreRequest
//
// # What is traced
//
// Only the scorer chain, with the span schema of package schema:
//
//	llm_d.epp.scoring            (schema.SpanScoring, kind Internal)
//	│  scorer.count, scoring.candidate_endpoints,
//	│  gen_ai.request.model and gen_ai.request.id when non-empty
//	└─ llm_d.epp.scorer.<type>   (one per scorer invocation, kind Internal)
//	   │  scorer.type, scorer.name, scorer.weight, scorer.candidate_endpoints,
//	   │  and when at least one endpoint was scored: score.max, score.avg,
//	   │  endpoints_scored
//	   └─ the scorer's own spans (its ctx is the child span's)
//
// score.max and score.avg are computed from the CLAMPED scores, the values
// in [0,1] that entered the weighted sum, not from what the scorer wrote,
// and before the weight is applied. An endpoint left at framework.NoScore
// counts neither in them nor in endpoints_scored; a scorer that scores none
// gets no aggregate at all (no NaN, no division by zero). No attribute names
// an endpoint. Filters and the picker are not traced.
//
// # Tracing off costs nothing
//
// The tracer is resolved once, not per request: with an explicit provider
// (WithTracerProvider) at construction; following the OTel global (the
// default), on the first Run and again only when otel.GetTracerProvider()
// returns another provider (one atomic load per Run), so an SDK installed
// after New is picked up. The global's default provider before any SDK is
// installed and the no-op providers resolve to "off": the chain then runs
// with no tracing call at all and allocates exactly what WithoutTracing,
// the reference path, allocates. With an SDK, recording is decided once per
// chain from the parent span's IsRecording(): an unsampled parent costs
// its Start (two allocations in the SDK) and nothing per scorer.
//
// Profile.Run recycles its buffers (scores, totals, scored endpoints,
// attributes) through a sync.Pool: it allocates nothing of its own once
// warm; what a Schedule allocates is the plugins', the picker's result and
// the handler's.
package scheduler
