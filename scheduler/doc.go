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
// The spans of package instrument, which makes them (names and keys from
// package schema), in upstream llm-d's tree:
//
//	run_scheduler_profile        one per profile run: profile name
//	├─ filter_endpoints          candidate and kept counts, model, request id
//	├─ llm_d.epp.scoring         (schema.SpanScoring) scorer.count,
//	│  │                         scoring.candidate_endpoints, model, request id
//	│  └─ llm_d.epp.scorer.<type>  one per scorer invocation: scorer.type,
//	│     │                      scorer.name, scorer.weight, candidate_endpoints,
//	│     │                      and when at least one endpoint was scored:
//	│     │                      score.max, score.avg, endpoints_scored
//	│     └─ the scorer's own spans (its ctx is the child span's)
//	└─ pick_endpoints            candidate count, the top weighted totals,
//	                             model, request id (never the endpoints' ids)
//
// All are of kind Internal. score.max and score.avg are of the RAW scores
// the scorer wrote, as upstream's: before clamping to [0,1] and weighting.
// An endpoint left at framework.NoScore counts neither in them nor in
// endpoints_scored; a scorer that scores none gets no aggregate at all (no
// NaN, no division by zero). The scoring span is emitted even for a profile
// without scorers. No attribute names an endpoint.
//
// # Tracing off costs nothing
//
// The tracer is resolved once, not per request: with an explicit provider
// (WithTracerProvider) at construction; following the OTel global (the
// default), on the first Run and again only when otel.GetTracerProvider()
// returns another provider (one atomic load per Run), so an SDK installed
// after New is picked up. The global's default provider before any SDK is
// installed and the no-op providers resolve to "off": the profile then runs
// with no tracing call at all and allocates exactly what WithoutTracing,
// the reference path, allocates. With an SDK, recording is decided once per
// profile run from run_scheduler_profile's IsRecording(): an unsampled
// request costs that Start (two allocations in the SDK) and nothing per
// filter, scorer or picker.
//
// Profile.Run recycles its buffers (scores, totals, scored endpoints)
// through a sync.Pool: it allocates nothing of its own once warm; what a
// Schedule allocates is the plugins', the picker's result and the
// handler's (and, for a sampled request, the spans and one attribute
// buffer per profile run).
package scheduler
