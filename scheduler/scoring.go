package scheduler

import (
	"context"
	"reflect"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/instrument"
)

// scoreTraced runs the scorer chain under a schema.SpanScoring span with
// one child per scorer, under the profile's span. Whether anything records
// was decided once, by the profile's span: when it does not, the chain runs
// exactly as untraced (no span, no attribute, no statistics), under the
// profile's context so that a scorer's own spans follow the decision. The
// chain's span is emitted even when the profile has no scorer, as upstream.
func (p *Profile) scoreTraced(ctx context.Context, ps instrument.Profile, req *framework.InferenceRequest, ra instrument.Request, endpoints []framework.Endpoint, scores, totals []float64) {
	ctx, chain := ps.StartChain(ctx, ra, len(p.scorers), len(endpoints))
	if !chain.Recording() {
		p.score(ctx, req, endpoints, scores, totals)
		chain.End()
		return
	}
	for _, ws := range p.scorers {
		sctx, span := chain.StartScorer(ctx, ws.span, len(endpoints))
		ws.score(sctx, req, endpoints, scores, totals)
		// The raw scores by candidate: the span's aggregates, and the
		// chain's decision signals once every scorer has scored.
		span.EndSlice(scores)
	}
	chain.End()
}

// samePlugin tells whether a and b are the same plugin instance without
// panicking on a plugin whose type is not comparable (such a plugin is
// never a duplicate of anything).
func samePlugin(a, b framework.Plugin) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}
