package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// TestChainsByProfile: the counting sampler attributes each scoring chain
// to the run_scheduler_profile span it starts under (named at start, as a
// sampler can see it), sampled or not, in traces of one and two profiles.
func TestChainsByProfile(t *testing.T) {
	acct := newAccounting("test")
	rec := tracetest.NewSpanRecorder()
	// Every other trace is sampled: the counts must not depend on it.
	sampled := 0
	decide := samplerFunc(func(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
		if p.TraceID[15]%2 == 0 {
			return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
		}
		return sdktrace.SamplingResult{Decision: sdktrace.Drop}
	})
	// Outside ParentBased, as newTracerProvider wraps it: inside, it would
	// see the roots only.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(countingSampler{Sampler: sdktrace.ParentBased(decide), acct: acct}),
		sdktrace.WithSpanProcessor(rec))
	tr := tp.Tracer("test")
	chain := func(ctx context.Context, profile string) {
		var opts []trace.SpanStartOption
		if profile != "" {
			opts = append(opts, trace.WithAttributes(attribute.String(schema.AttrProfileName, profile)))
		}
		ctx, run := tr.Start(ctx, schema.SpanRunSchedulerProfile, opts...)
		_, scoring := tr.Start(ctx, schema.SpanScoring)
		scoring.End()
		run.End()
	}
	const requests = 40
	for i := range requests {
		ctx, root := tr.Start(context.Background(), spanGatewayRequest)
		if root.SpanContext().IsSampled() {
			sampled++
		}
		if i%4 == 0 { // disaggregated: prefill, then decode
			chain(ctx, "prefill")
		}
		chain(ctx, "decode")
		root.End()
	}
	// The sampled chains, counted again from what the SDK recorded.
	wantPrefillSampled, wantDecodeSampled := 0, 0
	for _, s := range rec.Ended() {
		if s.Name() != schema.SpanRunSchedulerProfile {
			continue
		}
		for _, a := range s.Attributes() {
			if string(a.Key) == schema.AttrProfileName && a.Value.AsString() == "prefill" {
				wantPrefillSampled++
			} else if string(a.Key) == schema.AttrProfileName {
				wantDecodeSampled++
			}
		}
	}
	if sampled == 0 || sampled == requests {
		t.Fatalf("%d of %d roots sampled: the test needs both", sampled, requests)
	}
	want := chainCounts{"prefill": {total: requests / 4, sampled: uint64(wantPrefillSampled)}, "decode": {total: requests, sampled: uint64(wantDecodeSampled)}}
	if len(acct.chains) != len(want) {
		t.Fatalf("profiles %v, want prefill and decode", acct.chains)
	}
	for p, w := range want {
		if got := acct.chains[p]; got == nil || *got != *w {
			t.Errorf("profile %s: %+v, want %+v", p, got, w)
		}
	}
	var out bytes.Buffer
	acct.writeSummary(&out, tracingConfig{sampler: samplerParentOn}, "")
	for _, line := range []string{
		"scoring chains: 50, sampled",
		"  profile decode: 40, sampled",
		"  profile prefill: 10, sampled",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("summary lacks %q:\n%s", line, out.String())
		}
	}
}

type samplerFunc func(sdktrace.SamplingParameters) sdktrace.SamplingResult

func (f samplerFunc) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult { return f(p) }
func (samplerFunc) Description() string                                                  { return "test" }
