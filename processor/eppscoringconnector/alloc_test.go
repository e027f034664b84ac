package eppscoringconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// mixedBatch is n spans (a multiple of 25): with scoring, each group of
// 25 is one request (a parent and four scorers, with the decision signals)
// plus 20 other spans of the same trace, so a fifth are schema spans;
// without, only other spans.
func mixedBatch(n int, scoring bool) ptrace.Traces {
	td, spans := newTraces()
	models := []string{"llama-3-8b", "qwen-2-7b"}
	for i := 0; i < n/25; i++ {
		r := reqLlama
		r.id = byte(i)
		r.model = models[i%2]
		others := 25
		if scoring {
			// with the decision signals our scheduler emits
			r.tied, r.margin = 1+int64(i%2), 0.1
			r.scorers = append([]scorerSpec(nil), reqLlama.scorers...)
			for k := range r.scorers {
				r.scorers[k].decisive = 1 + int8(k%2)
			}
			addChildren(spans, r)
			addParent(spans, r)
			others = 20
		}
		for j := 0; j < others; j++ {
			sp := spans.AppendEmpty()
			sp.SetName(schema.UpstreamSpans()[j%4])
			sp.SetTraceID(r.traceID())
			sp.SetSpanID(pcommon.SpanID{1, byte(i), byte(j)})
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(baseTime))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(time.Millisecond)))
		}
	}
	return td
}

func TestSteadyStateAllocations(t *testing.T) {
	tests := []struct {
		name      string
		config    func(*Config)
		scoring   bool
		maxAllocs float64 // per 1000-span batch
	}{
		{name: "other_spans", scoring: false, maxAllocs: 0},
		{name: "scoring_explicit", scoring: true, maxAllocs: 0},
		{name: "scoring_exponential_exemplars", scoring: true, maxAllocs: 0, config: func(c *Config) {
			c.Histogram.Exponential = &ExponentialHistogramConfig{}
			c.Exemplars = ExemplarsConfig{Enabled: true, MaxPerDataPoint: 5}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.config)
			td := mixedBatch(1000, tt.scoring)
			ctx := context.Background()
			_ = h.c.ConsumeTraces(ctx, td) // series and buffers exist from here on
			allocs := testing.AllocsPerRun(50, func() { _ = h.c.ConsumeTraces(ctx, td) })
			assert.LessOrEqual(t, allocs, tt.maxAllocs)
		})
	}
}

// upstreamBatch is n requests as upstream's scheduler emits them with
// prefill/decode disaggregation: two chains per trace, each under its
// run_scheduler_profile span, with a sampling threshold on every span.
func upstreamBatch(n int) ptrace.Traces {
	td, spans := newUpstreamSpans()
	for i := range n {
		u := upstreamTrace{trace: pcommon.TraceID{0xE, byte(i), byte(i >> 8)}}
		for j, c := range []upstreamChain{decodeChain, prefillChain} {
			c.n = byte(2*i + j)
			u.addScorers(spans, c)
			u.addScoring(spans, c)
			u.addProfile(spans, c)
		}
	}
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).TraceState().FromRaw("ot=th:e666666666666")
	}
	return td
}

// TestUpstreamSteadyStateAllocations: the profile join (deferred chains,
// the per-batch profile map) and extrapolated counts allocate nothing once
// the series exist.
func TestUpstreamSteadyStateAllocations(t *testing.T) {
	h := newHarness(t, nil)
	td := upstreamBatch(100)
	ctx := context.Background()
	_ = h.c.ConsumeTraces(ctx, td)
	assert.Zero(t, testing.AllocsPerRun(50, func() { _ = h.c.ConsumeTraces(ctx, td) }))
	assert.Zero(t, h.c.agg.join.used, "every chain found its profile in its batch")
}

func BenchmarkConsume(b *testing.B) {
	b.Run("upstream_profiles", func(b *testing.B) {
		h := newHarness(b, nil)
		td := upstreamBatch(100)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = h.c.ConsumeTraces(ctx, td)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(td.SpanCount()), "ns/span")
	})
	for _, scoring := range []bool{true, false} {
		b.Run(map[bool]string{true: "scoring", false: "other"}[scoring], func(b *testing.B) {
			h := newHarness(b, nil)
			td := mixedBatch(1000, scoring)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = h.c.ConsumeTraces(ctx, td)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/span")
		})
	}
}
