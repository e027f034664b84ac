package scheduler

import (
	"context"
	"reflect"

	"go.opentelemetry.io/otel/attribute"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// attrBuf is room for the most attributes one scoring span carries (a
// scorer span: 3 static, candidates, max, avg, scored). Spans copy what
// they are given, so one pooled buffer serves every span of a Run.
type attrBuf [7]attribute.KeyValue

// scoreTraced runs the scorer chain under a schema.SpanScoring span with
// one child per scorer. Whether anything records is decided once, from
// the parent: when it does not, the chain runs exactly as untraced (no
// child span, no attribute), under the parent's context so that a scorer's
// own spans inherit the sampling decision.
func (p *Profile) scoreTraced(ctx context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores, totals []float64, st *runState) {
	tracer := p.tracing.get()
	if tracer == nil || len(p.scorers) == 0 {
		p.score(ctx, req, endpoints, scores, totals)
		return
	}
	ctx, parent := tracer.Start(ctx, schema.SpanScoring, internalSpanStartOpts...)
	if !parent.IsRecording() {
		p.score(ctx, req, endpoints, scores, totals)
		parent.End()
		return
	}
	n := len(endpoints)
	a := append(st.attrs[:0], keyScorerCount.Int(len(p.scorers)), keyScoringCandidates.Int(n))
	if req.TargetModel != "" {
		a = append(a, keyRequestModel.String(req.TargetModel))
	}
	if req.RequestID != "" {
		a = append(a, keyRequestID.String(req.RequestID))
	}
	parent.SetAttributes(a...)

	for _, ws := range p.scorers {
		sctx, span := tracer.Start(ctx, ws.spanName, internalSpanStartOpts...)
		stats := ws.scoreTraced(sctx, req, endpoints, scores, totals)
		if span.IsRecording() {
			a := append(append(st.attrs[:0], ws.static[:]...), keyScorerCandidates.Int(n))
			if stats.scored > 0 {
				a = append(a,
					keyScoreMax.Float64(stats.max),
					keyScoreAvg.Float64(stats.sum/float64(stats.scored)),
					keyEndpointsScored.Int(stats.scored))
			}
			span.SetAttributes(a...)
		}
		span.End()
	}
	parent.End()
}

// samePlugin tells whether a and b are the same plugin instance without
// panicking on a plugin whose type is not comparable (such a plugin is
// never a duplicate of anything).
func samePlugin(a, b framework.Plugin) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}
