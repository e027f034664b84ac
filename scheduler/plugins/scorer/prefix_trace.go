package scorer

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/instrument"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// keyScorerCandidates is derived once from the schema: no key is typed here.
var keyScorerCandidates = attribute.Key(schema.AttrScorerCandidates)

// TracerScope is the instrumentation scope of the scorers' own spans.
const TracerScope = "github.com/scorelens/scorelens/scheduler/plugins/scorer"

// endPrefixSpan sets upstream's attributes of score_prefix_cache and ends
// it: the candidate count, the request's model and id, upstream's
// multimodal summary (a text prompt: none, 0) and the aggregates of the
// scores (schema.UpstreamAttributes(schema.SpanScorePrefixCache)). Only
// request-level facts: never a per-endpoint match.
func endPrefixSpan(span trace.Span, req *framework.InferenceRequest, scores []float64) {
	var buf [10]attribute.KeyValue
	a := append(buf[:0], keyScorerCandidates.Int(len(scores)))
	a = instrument.Request{Model: req.TargetModel, ID: req.RequestID}.AppendAttributes(a)
	a = instrument.AppendNoMultimodal(a)
	var st instrument.Stats
	for _, v := range scores {
		st.Add(v)
	}
	span.SetAttributes(st.AppendAttributes(a)...)
	span.End()
}
