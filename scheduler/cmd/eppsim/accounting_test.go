package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// TestChainsByProfile: the counting sampler counts every scoring chain,
// sampled or not, in traces of one and two profiles, whether the scheduler
// names the profile when it starts its span (then chains are counted per
// profile) or only once the span records, and whether it starts the scoring
// span of an unsampled profile at all (then the profile runs count it).
func TestChainsByProfile(t *testing.T) {
	tests := []struct {
		name string
		// nameAtStart: the profile name is a start attribute, which the
		// sampler sees; else it is set after start, on recording spans.
		nameAtStart bool
		// alwaysChain: the scoring span is started even when the profile's
		// span does not record.
		alwaysChain bool
		wantLines   []string
	}{
		{"named at start", true, true, []string{"  profile decode: 40, sampled ", "  profile prefill: 10, sampled "}},
		{"named when recording, chain only when recording", false, false, []string{"profiles: decode, prefill (named on recording spans only"}},
		{"named when recording, chain always", false, true, []string{"profiles: decode, prefill (named on recording spans only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct := newAccounting("test")
			rec := tracetest.NewSpanRecorder()
			// Every other trace is sampled: the counts must not depend on it.
			decide := samplerFunc(func(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
				if p.TraceID[15]%2 == 0 {
					return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
				}
				return sdktrace.SamplingResult{Decision: sdktrace.Drop}
			})
			// Outside ParentBased, as newTracerProvider wraps it: inside, it
			// would see the roots only.
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(countingSampler{Sampler: sdktrace.ParentBased(decide), acct: acct}),
				sdktrace.WithSpanProcessor(countingProcessor{SpanProcessor: rec, acct: acct}))
			tr := tp.Tracer("test")
			profileName := attribute.Key(schema.AttrProfileName)
			chain := func(ctx context.Context, profile string) {
				var opts []trace.SpanStartOption
				if tt.nameAtStart {
					opts = append(opts, trace.WithAttributes(profileName.String(profile)))
				}
				ctx, run := tr.Start(ctx, schema.SpanRunSchedulerProfile, opts...)
				if run.IsRecording() {
					run.SetAttributes(profileName.String(profile))
				}
				if run.IsRecording() || tt.alwaysChain {
					_, scoring := tr.Start(ctx, schema.SpanScoring)
					scoring.End()
				}
				run.End()
			}
			const requests = 40
			sampledRoots := 0
			for i := range requests {
				ctx, root := tr.Start(context.Background(), spanGatewayRequest)
				if root.SpanContext().IsSampled() {
					sampledRoots++
				}
				if i%4 == 0 { // disaggregated: prefill, then decode
					chain(ctx, "prefill")
				}
				chain(ctx, "decode")
				root.End()
			}
			if sampledRoots == 0 || sampledRoots == requests {
				t.Fatalf("%d of %d roots sampled: the test needs both", sampledRoots, requests)
			}
			// The sampled chains, counted again from what the SDK recorded.
			sampled := map[string]int{}
			for _, s := range rec.Ended() {
				if s.Name() != schema.SpanRunSchedulerProfile {
					continue
				}
				for _, a := range s.Attributes() {
					if a.Key == profileName {
						sampled[a.Value.AsString()]++
					}
				}
			}
			var out bytes.Buffer
			acct.writeSummary(&out, tracingConfig{sampler: samplerParentOn}, "", nil)
			want := append([]string{fmt.Sprintf("scoring chains: 50, sampled %d (", sampled["decode"]+sampled["prefill"])}, tt.wantLines...)
			for _, line := range want {
				if strings.HasPrefix(line, "  profile decode") {
					line += fmt.Sprint(sampled["decode"])
				}
				if strings.HasPrefix(line, "  profile prefill") {
					line += fmt.Sprint(sampled["prefill"])
				}
				if !strings.Contains(out.String(), line) {
					t.Errorf("summary lacks %q:\n%s", line, out.String())
				}
			}
			if !tt.nameAtStart && strings.Contains(out.String(), "  profile ") {
				t.Errorf("summary names profiles it could not tell apart:\n%s", out.String())
			}
		})
	}
}

type samplerFunc func(sdktrace.SamplingParameters) sdktrace.SamplingResult

func (f samplerFunc) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult { return f(p) }
func (samplerFunc) Description() string                                                  { return "test" }
