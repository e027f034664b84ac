// Package scorer holds the real scorers of the scheduler: the signals an
// llm-d EPP profile weighs to pick an endpoint.
//
// Each scorer's type string, category and formula follow upstream llm-d EPP
// (see /work/shared/reference/upstream-epp.md, "Real scorers and pickers"):
//
//	kv-cache-utilization-scorer   Distribution  1 - KVCacheUsagePercent
//	queue-scorer                  Distribution  (max-q)/(max-min) over WaitingQueueSize, 1 when all equal
//	running-requests-size-scorer  Distribution  the same over RunningRequestsSize
//	prefix-cache-scorer           Affinity      matched prefix blocks / prompt blocks
//	lora-affinity-scorer          Affinity      1.0 active, 0.8 room (active+waiting < max), 0.6 waiting, else 0
//	load-aware-scorer             Distribution  0.5 if queue empty, else 0.5*(1-min(q,T)/T)
//	session-affinity-scorer       Affinity      1.0 for the endpoint the session token names, else 0;
//	                                            issues the token on the response (ResponseHeader)
//
// The scorers write into the framework's caller-owned score slice and leave
// NaN (framework.NoScore) where they have no signal, for example for an
// endpoint without metrics. None of them allocates per endpoint; all but the
// prefix-cache scorer allocate nothing at all per request, and that one two
// whatever the fleet size (its block hashes, stored on the request), three
// for prompts beyond 64 blocks (4 KiB at the default block size), plus
// what inserting a new prompt's blocks costs in PreRequest.
//
// The prefix-cache scorer is also the one plugin that traces: like
// upstream's, it opens its own score_prefix_cache span, with upstream's
// keys, under its scorer span, only when that span is recording. It hashes
// the prompt with xxHash (stable across replicas and restarts) up to
// upstream's cap of 131072 tokens (512 KiB at 4 bytes per token).
//
// Constructors take the instance name; an empty name means the type string.
package scorer
