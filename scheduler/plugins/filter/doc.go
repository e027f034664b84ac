// Package filter holds real filters of the scheduler: they narrow a
// request's candidate endpoints before the scorers run.
//
//	low-queue-filter      keeps endpoints whose waiting queue is at most a
//	                      threshold, or all of them when none qualifies (as
//	                      upstream's low-queue filter does)
//	model-serving-filter  keeps endpoints that serve the request's adapter,
//	                      are about to, or have room to load it (the
//	                      conditions of upstream's lora-affinity scorer,
//	                      /work/shared/reference/upstream-epp.md)
//	decode-filter,        upstream's role filters on the llm-d.ai/role
//	prefill-filter        label, for prefill/decode disaggregation
//
// Filters work in place: they compact the input slice and return a prefix
// of it, allocating nothing, as framework.Filter allows. Constructors take
// the instance name; an empty name means the type string.
package filter

import "github.com/scorelens/scorelens/scheduler/framework"

// keepIf compacts endpoints to those keep accepts, preserving order. Slots
// are written only for kept endpoints, so when none is kept the input is
// untouched and a caller can fall back to it.
func keepIf(endpoints []framework.Endpoint, keep func(framework.Endpoint) bool) []framework.Endpoint {
	n := 0
	for _, ep := range endpoints {
		if keep(ep) {
			endpoints[n] = ep
			n++
		}
	}
	return endpoints[:n]
}
