package scorer

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
	"github.com/scorelens/scorelens/scheduler/schema"
)

func newProvider(sampler sdktrace.Sampler) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec)), rec
}

// scoreUnder runs Score inside a parent span of tp, as the scheduler runs a
// scorer inside its scorer span, and returns the parent.
func scoreUnder(tp trace.TracerProvider, s *PrefixCache, req *framework.InferenceRequest, eps []framework.Endpoint) (trace.Span, []float64) {
	ctx, parent := tp.Tracer("test").Start(context.Background(), schema.ScorerSpanPrefix+PrefixCacheType)
	scores := make([]float64, len(eps))
	for i := range scores {
		scores[i] = framework.NoScore
	}
	s.Score(ctx, req, eps, scores)
	parent.End()
	return parent, scores
}

func TestPrefixCacheSpan(t *testing.T) {
	tp, rec := newProvider(sdktrace.AlwaysSample())
	s := testPrefix(t, nil)
	eps := testfleet.Upstream(3, "m")
	serve(s, "aaaabbbb", eps[1])
	parent, scores := scoreUnder(tp, s, prefixReq("aaaabbbbcccc"), eps)
	sameScores(t, scores, score(s, prefixReq("aaaabbbbcccc"), eps))

	var got sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.Name() == schema.SpanScorePrefixCache {
			if got != nil {
				t.Fatal("more than one prefix span")
			}
			got = sp
		}
	}
	if got == nil {
		t.Fatalf("no %s span among %d ended", schema.SpanScorePrefixCache, len(rec.Ended()))
	}
	if got.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("prefix span is not nested under the scorer span")
	}
	if got.SpanKind() != trace.SpanKindInternal {
		t.Errorf("kind = %v, want internal", got.SpanKind())
	}
	if got.InstrumentationScope().Name != TracerScope {
		t.Errorf("scope = %q", got.InstrumentationScope().Name)
	}
	// Upstream's keys: the request (no id here), its multimodal summary
	// and the aggregates of the raw scores: 2/3 for eps[1], 0 elsewhere.
	want := map[attribute.Key]attribute.Value{
		attribute.Key(schema.AttrScorerCandidates): attribute.IntValue(3),
		attribute.Key(schema.AttrRequestModel):     attribute.StringValue("m"),
		attribute.Key(schema.AttrMMModality):       attribute.StringValue(schema.MMModalityNone),
		attribute.Key(schema.AttrMMHashCount):      attribute.IntValue(0),
		attribute.Key(schema.AttrScoreMax):         attribute.Float64Value(2.0 / 3),
		attribute.Key(schema.AttrScoreAvg):         attribute.Float64Value(2.0 / 9),
		attribute.Key(schema.AttrEndpointsScored):  attribute.IntValue(3),
	}
	attrs := got.Attributes()
	if len(attrs) != len(want) {
		t.Errorf("attributes = %v, want %v", attrs, want)
	}
	upstream := map[string]schema.Type{}
	for _, a := range schema.UpstreamAttributes(schema.SpanScorePrefixCache) {
		upstream[a.Key] = a.Type
	}
	for _, kv := range attrs {
		if w, ok := want[kv.Key]; !ok || w.Emit() != kv.Value.Emit() {
			t.Errorf("%s = %s, want %s", kv.Key, kv.Value.Emit(), w.Emit())
		}
		if _, ok := upstream[string(kv.Key)]; !ok {
			t.Errorf("%s is not among upstream's keys", kv.Key)
		}
	}
	// The rule of the schema: nothing on the span names an endpoint.
	for _, kv := range got.Attributes() {
		for _, ep := range eps {
			md := ep.GetMetadata()
			if v := kv.Value.Emit(); strings.Contains(v, md.ID) || strings.Contains(v, md.Name) {
				t.Errorf("attribute %s=%s names endpoint %s", kv.Key, v, md.ID)
			}
		}
	}
}

// TestPrefixCacheSpanNotRecording: an unsampled parent, or none, gets no
// span and costs no more than untraced scoring.
func TestPrefixCacheSpanNotRecording(t *testing.T) {
	tp, rec := newProvider(sdktrace.NeverSample())
	s := testPrefix(t, nil)
	eps := testfleet.Upstream(5, "m")
	scoreUnder(tp, s, prefixReq("aaaabbbb"), eps)
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans recorded under an unsampled parent", n)
	}

	ctx, parent := tp.Tracer("test").Start(context.Background(), "unsampled")
	defer parent.End()
	scores := make([]float64, len(eps))
	req := prefixReq("aaaabbbb")
	measure := func(ctx context.Context) float64 {
		return testing.AllocsPerRun(100, func() {
			*req = framework.InferenceRequest{TargetModel: "m", Prompt: "aaaabbbb"}
			s.Score(ctx, req, eps, scores)
		})
	}
	if bare, unsampled := measure(context.Background()), measure(ctx); bare != unsampled {
		t.Errorf("allocs per Score: %v without a span, %v under an unsampled one", bare, unsampled)
	}
}

// TestPrefixCacheSpanProviderChange: the tracer follows the parent's
// provider, so a provider installed after the scorer was built is used.
func TestPrefixCacheSpanProviderChange(t *testing.T) {
	s := testPrefix(t, nil)
	eps := testfleet.Upstream(2, "m")
	for i := range 3 {
		tp, rec := newProvider(sdktrace.AlwaysSample())
		scoreUnder(tp, s, prefixReq("aaaa"), eps)
		n := 0
		for _, sp := range rec.Ended() {
			if sp.Name() == schema.SpanScorePrefixCache {
				n++
			}
		}
		if n != 1 {
			t.Errorf("provider %d recorded %d prefix spans, want 1", i, n)
		}
	}
}
