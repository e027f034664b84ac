package instrument_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/scorelens/scorelens/scheduler/instrument"
)

// decisionScorers is the chain of the decision benchmark and test: four
// scorers, as BenchmarkSchedule's profile.
const decisionScorers = 4

// decisionChain runs one sampled chain of decisionScorers scorers over
// scores (one row per scorer), ending each scorer span with its scores by
// candidate (EndSlice: the decision signals) or with its aggregates only
// (End: no signal, the cost before issue 12).
func decisionChain(tr *instrument.Tracer, spans []*instrument.Scorer, scores [][]float64, decision bool) {
	ctx, c := tr.StartChain(context.Background(), instrument.Request{Model: "m", ID: "r"}, len(spans), len(scores[0]))
	for i, s := range spans {
		_, span := c.StartScorer(ctx, s, len(scores[i]))
		if decision {
			span.EndSlice(scores[i])
			continue
		}
		var st instrument.Stats
		for _, v := range scores[i] {
			st.Add(v)
		}
		span.End(st)
	}
	c.End()
}

func decisionFixture(n int) ([]*instrument.Scorer, [][]float64) {
	spans := make([]*instrument.Scorer, decisionScorers)
	scores := make([][]float64, decisionScorers)
	for i := range spans {
		spans[i] = instrument.NewScorer(fmt.Sprintf("scorer-%d", i), fmt.Sprintf("scorer-%d", i), float64(i+1))
		scores[i] = make([]float64, n)
		for e := range scores[i] {
			scores[i][e] = float64((e*(i+3))%11) / 10
		}
	}
	scores[0][n-1] = math.NaN() // one unscored endpoint
	return spans, scores
}

func sampledSDK(tb testing.TB) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// BenchmarkChainDecision is the cost of the decision signals on a sampled
// chain of four scorers (spans handed on End to a discarding exporter
// through the SDK's synchronous processor): decision=off ends each scorer
// span with its aggregates only, decision=on with its scores by candidate,
// so that the chain computes the signals. decision=on also reports
// extra-ns/chain and extra-allocs/chain over decision=off of the same size,
// measured just before it in the same run.
func BenchmarkChainDecision(b *testing.B) {
	for _, n := range []int{5, 25, 100} {
		var off struct{ ns, allocs float64 }
		for _, decision := range []bool{false, true} {
			mode := map[bool]string{false: "off", true: "on"}[decision]
			b.Run(fmt.Sprintf("endpoints=%d/decision=%s", n, mode), func(b *testing.B) {
				tr := instrument.NewTracer(instrument.WithTracerProvider(sampledSDK(b)))
				spans, scores := decisionFixture(n)
				decisionChain(tr, spans, scores, decision) // warm the pool
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					decisionChain(tr, spans, scores, decision)
				}
				b.StopTimer()
				runtime.ReadMemStats(&after)
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				allocs := float64(after.Mallocs-before.Mallocs) / float64(b.N)
				if !decision {
					off.ns, off.allocs = ns, allocs
				} else if off.ns > 0 {
					b.ReportMetric(ns-off.ns, "extra-ns/chain")
					b.ReportMetric(allocs-off.allocs, "extra-allocs/chain")
				}
			})
		}
	}
}

// TestDecisionAllocations: once the tracer is warm, the decision signals
// add to a sampled chain at most one allocation per scorer (the end time
// its span keeps until the chain ends, boxed by trace.WithTimestamp) and
// nothing that grows with the candidates.
func TestDecisionAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	tr := instrument.NewTracer(instrument.WithTracerProvider(sampledSDK(t)))
	for _, n := range []int{5, 100} {
		spans, scores := decisionFixture(n)
		decisionChain(tr, spans, scores, true)
		off := testing.AllocsPerRun(100, func() { decisionChain(tr, spans, scores, false) })
		on := testing.AllocsPerRun(100, func() { decisionChain(tr, spans, scores, true) })
		if on-off > decisionScorers {
			t.Errorf("%d endpoints: %v allocs with the decision, %v without: want at most %d more", n, on, off, decisionScorers)
		}
	}
}
