package eppscoringconnector

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		ts      string
		want    uint64
		outcome int
	}{
		{ts: "", outcome: thresholdAbsent},
		{ts: "vendor=abc", outcome: thresholdAbsent},
		{ts: "ot=rv:0123456789abcd", outcome: thresholdAbsent},
		{ts: "ot=th:0", want: 0, outcome: thresholdValid},
		{ts: "ot=th:8", want: 8 << 52, outcome: thresholdValid},
		{ts: "ot=th:c", want: 0xc << 52, outcome: thresholdValid},
		{ts: "ot=th:e666666666666", want: 0xe6666666666660, outcome: thresholdValid},
		{ts: "ot=th:ffffffffffffff", want: 1<<56 - 1, outcome: thresholdValid},
		{ts: "ot=rv:abcdef01234567;th:8", want: 8 << 52, outcome: thresholdValid},
		{ts: "vendor=x, ot=th:8;rv:abcdef01234567 ,other=y", want: 8 << 52, outcome: thresholdValid},
		{ts: "\tot=th:4", want: 4 << 52, outcome: thresholdValid},
		{ts: "ot=th:", outcome: thresholdInvalid},
		{ts: "ot=th:123456789abcdef", outcome: thresholdInvalid}, // 15 digits
		{ts: "ot=th:C", outcome: thresholdInvalid},               // upper case
		{ts: "ot=th:0x8", outcome: thresholdInvalid},
		{ts: "ot=th:-1", outcome: thresholdInvalid},
		{ts: "ot=th: 8", outcome: thresholdInvalid},              // white space inside the ot value
		{ts: "ot=th:8 ", want: 8 << 52, outcome: thresholdValid}, // W3C white space around a member
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.ts), func(t *testing.T) {
			got, outcome := parseThreshold(tt.ts)
			assert.Equal(t, tt.outcome, outcome)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzParseThreshold: any tracestate parses without panic, and a valid
// threshold stays below 2^56 (the adjusted count stays finite).
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"ot=th:8", "ot=th:", "a=b,ot=rv:00;th:fffffffffffff", "ot=th:0", ",,,ot=", "ot=th:ffffffffffffff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ts string) {
		th, outcome := parseThreshold(ts)
		if outcome == thresholdValid && th >= maxAdjustedCount {
			t.Fatalf("threshold %#x of %q is not below 2^56", th, ts)
		}
		if outcome != thresholdValid && th != 0 {
			t.Fatalf("%q: outcome %d with threshold %#x", ts, outcome, th)
		}
	})
}

// thresholdFor returns the spec's rejection threshold for a sampling
// probability and its th encoding (14 hex digits, trailing zeros dropped).
func thresholdFor(p float64) (uint64, string) {
	t := uint64(maxAdjustedCount) - uint64(math.Round(p*maxAdjustedCount))
	s := fmt.Sprintf("%014x", t)
	s = strings.TrimRight(s, "0")
	if s == "" {
		s = "0"
	}
	return t, s
}

// consistentSampler decides as a consistent probability sampler of the
// OpenTelemetry specification does: keep the trace when its randomness (the
// trace id's last 56 bits) is at least the rejection threshold.
type consistentSampler struct{ threshold uint64 }

func (s consistentSampler) keep(id pcommon.TraceID) bool {
	r := binary.BigEndian.Uint64(id[8:]) & (maxAdjustedCount - 1)
	return r >= s.threshold
}

// sampledWorkload is a deterministic stream of requests: each runs the
// always-on scorers and, with their own probability, the optional ones.
type sampledWorkload struct {
	rng       *rand.Rand
	scorers   []scorerSpec
	runs      []float64 // probability each scorer runs in a request
	truth     map[string]int64
	requests  int64
	exported  int64
	nextID    uint64
	tracestat string
}

func newSampledWorkload(seed uint64, tracestate string) *sampledWorkload {
	return &sampledWorkload{
		rng: rand.New(rand.NewPCG(seed, seed^0x5eed)),
		scorers: []scorerSpec{
			scorer("prefix-cache-scorer", "prefix", 300*time.Microsecond, 0.9, 0.4),
			scorer("kv-cache-utilization-scorer", "kv", 40*time.Microsecond, 0.7, 0.5),
			scorer("queue-scorer", "queue", 15*time.Microsecond, 1, 0.6),
			noScores("lora-affinity-scorer", "lora", 8*time.Microsecond),
		},
		runs:      []float64{1, 1, 0.9, 0.75},
		truth:     map[string]int64{},
		tracestat: tracestate,
	}
}

// request draws one request: its trace id and the scorers it runs (their
// true invocations are counted whether or not the trace is sampled).
func (w *sampledWorkload) request() (pcommon.TraceID, []scorerSpec) {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], w.rng.Uint64())
	binary.BigEndian.PutUint64(id[8:], w.rng.Uint64())
	var ran []scorerSpec
	for i, s := range w.scorers {
		if w.rng.Float64() < w.runs[i] {
			ran = append(ran, s)
			w.truth[s.typ]++
		}
	}
	w.requests++
	return id, ran
}

// appendRequest writes a sampled request's spans (children, then parent,
// as an SDK exports them) with the workload's tracestate.
func (w *sampledWorkload) appendRequest(spans ptrace.SpanSlice, id pcommon.TraceID, ran []scorerSpec) {
	w.nextID++
	parent := pcommon.SpanID{}
	binary.BigEndian.PutUint64(parent[:], w.nextID<<8)
	start := pcommon.NewTimestampFromTime(baseTime)
	for i, s := range ran {
		sp := spans.AppendEmpty()
		sp.SetName(schema.ScorerSpanPrefix + s.typ)
		sp.SetTraceID(id)
		child := pcommon.SpanID{}
		binary.BigEndian.PutUint64(child[:], w.nextID<<8|uint64(i+1))
		sp.SetSpanID(child)
		sp.SetParentSpanID(parent)
		sp.TraceState().FromRaw(w.tracestat)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + pcommon.Timestamp(s.took))
		sp.Attributes().PutStr(schema.AttrScorerType, s.typ)
		sp.Attributes().PutStr(schema.AttrScorerName, s.name)
	}
	sp := spans.AppendEmpty()
	sp.SetName(schema.SpanScoring)
	sp.SetTraceID(id)
	sp.SetSpanID(parent)
	sp.TraceState().FromRaw(w.tracestat)
	sp.SetStartTimestamp(start)
	sp.SetEndTimestamp(start + pcommon.Timestamp(time.Millisecond))
	sp.Attributes().PutStr(schema.AttrRequestModel, "llama-3-8b")
	sp.Attributes().PutInt(schema.AttrScoringCandidates, 8)
	w.exported++
}

// sumPoints adds up a metric's counts by an attribute: sums' values and
// histograms' counts.
func sumPoints(md pmetric.Metrics, metric, key string) map[string]int64 {
	out := map[string]int64{}
	forEachMetric(md, func(_ pcommon.Resource, m pmetric.Metric) {
		if m.Name() != metric {
			return
		}
		switch m.Type() {
		case pmetric.MetricTypeSum:
			for i := 0; i < m.Sum().DataPoints().Len(); i++ {
				dp := m.Sum().DataPoints().At(i)
				out[attrString(dp.Attributes(), key)] += dp.IntValue()
			}
		case pmetric.MetricTypeHistogram:
			for i := 0; i < m.Histogram().DataPoints().Len(); i++ {
				dp := m.Histogram().DataPoints().At(i)
				out[attrString(dp.Attributes(), key)] += int64(dp.Count())
			}
		}
	})
	return out
}

// attrString returns an attribute as a string, "" when absent.
func attrString(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func forEachMetric(md pmetric.Metrics, fn func(pcommon.Resource, pmetric.Metric)) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				fn(rm.Resource(), ms.At(k))
			}
		}
	}
}

// assertWithin checks an estimate against the truth, relative.
func assertWithin(t *testing.T, truth, estimate int64, rel float64, what string) {
	t.Helper()
	require.Positive(t, truth, what)
	err := math.Abs(float64(estimate-truth)) / float64(truth)
	t.Logf("%s: estimated %d, true %d (%.2f%% off)", what, estimate, truth, 100*err)
	assert.LessOrEqual(t, err, rel, "%s: estimated %d, true %d (%.2f%% off)", what, estimate, truth, 100*err)
}

// TestSampledCountsExtrapolate: 100 000 requests sampled at 0.1 by a
// consistent sampler that writes its threshold into the tracestate; the
// connector sees only the kept ones and must estimate every scorer's true
// invocations within 3 %.
func TestSampledCountsExtrapolate(t *testing.T) {
	const requests = 100_000
	threshold, th := thresholdFor(0.1)
	got, outcome := parseThreshold("ot=th:" + th)
	require.Equal(t, thresholdValid, outcome)
	require.Equal(t, threshold, got, "th:%s encodes the threshold of 10 %%", th)
	sampler := consistentSampler{threshold: threshold}
	w := newSampledWorkload(20260102, "vendor=x,ot=th:"+th)

	h := newHarness(t, nil)
	td, spans := newTraces()
	for range requests {
		id, ran := w.request()
		if !sampler.keep(id) {
			continue
		}
		w.appendRequest(spans, id, ran)
		if spans.Len() >= 500 {
			h.consume(t, td)
			td, spans = newTraces()
		}
	}
	h.consume(t, td)
	md := h.flush(t)

	kept := float64(w.exported) / requests
	assert.InDelta(t, 0.1, kept, 0.005, "the sampler kept %.4f of the requests", kept)
	calls := sumPoints(md, schema.MetricScorerCalls, schema.AttrScorerType)
	durations := sumPoints(md, schema.MetricScorerDuration, schema.AttrScorerType)
	require.Len(t, calls, len(w.scorers))
	for typ, truth := range w.truth {
		assertWithin(t, truth, calls[typ], 0.03, typ)
		assert.Equal(t, calls[typ], durations[typ], "%s: the histogram's count is the calls", typ)
	}
	chains := sumPoints(md, schema.MetricScoringDuration, schema.AttrRequestModel)
	assertWithin(t, requests, chains["llama-3-8b"], 0.03, "chains")
	assert.Equal(t, map[string]int64{schema.SamplingMethodExtrapolated: calls["prefix-cache-scorer"] +
		calls["kv-cache-utilization-scorer"] + calls["queue-scorer"] + calls["lora-affinity-scorer"]},
		sumPoints(md, schema.MetricScorerCalls, schema.AttrSamplingMethod), "every series says it is extrapolated")
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_sampling_threshold_invalid", "", ""))
}

// TestFallbackRatio: senders whose sampler writes no threshold (the OTel
// SDK's TraceIDRatioBased, as upstream EPP uses) are extrapolated with the
// ratio configured for their service.name, others with the default ratio;
// a threshold on the span wins over both.
func TestFallbackRatio(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Sampling = SamplingConfig{DefaultRatio: 0.3, RatioByService: map[string]float64{"epp": 0.1}}
	})
	services := []struct {
		name       string
		ratio      float64 // what its SDK sampler keeps
		tracestate string
	}{
		{name: "epp", ratio: 0.1},
		{name: "epp-canary", ratio: 0.3},                     // not listed: default_ratio
		{name: "epp-new", ratio: 0.5, tracestate: "ot=th:8"}, // writes a threshold (0.5): it wins
	}
	const requests = 60_000
	truth := map[string]int64{}
	kept := map[string]int64{}
	for i, svc := range services {
		sampler := sdktrace.TraceIDRatioBased(svc.ratio)
		w := newSampledWorkload(uint64(7+i), svc.tracestate)
		w.scorers, w.runs = w.scorers[:1], w.runs[:1] // one scorer per request: calls = requests
		td, spans := newTraces()
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.name", svc.name)
		for range requests {
			id, ran := w.request()
			res := sampler.ShouldSample(sdktrace.SamplingParameters{TraceID: trace.TraceID(id), Name: schema.SpanScoring})
			if res.Decision != sdktrace.RecordAndSample {
				continue
			}
			w.appendRequest(spans, id, ran)
			kept[svc.name]++
		}
		h.consume(t, td)
		truth[svc.name] = w.truth["prefix-cache-scorer"]
	}
	md := h.flush(t)
	calls := map[string]int64{}
	forEachMetric(md, func(res pcommon.Resource, m pmetric.Metric) {
		if m.Name() != schema.MetricScorerCalls {
			return
		}
		svc, _ := res.Attributes().Get("service.name")
		for i := 0; i < m.Sum().DataPoints().Len(); i++ {
			calls[svc.Str()] += m.Sum().DataPoints().At(i).IntValue()
		}
	})
	// 1/0.1 and 1/0.5 are integers: the estimate is exactly kept × 1/ratio.
	assert.Equal(t, 10*kept["epp"], calls["epp"])
	assert.Equal(t, 2*kept["epp-new"], calls["epp-new"])
	// 1/0.3 is not: stochastic rounding must stay unbiased.
	assert.InDelta(t, float64(kept["epp-canary"])/0.3, float64(calls["epp-canary"]), 0.01*float64(calls["epp-canary"]))
	for _, svc := range services {
		assertWithin(t, truth[svc.name], calls[svc.name], 0.03, svc.name)
	}
}

// TestBadTracestate: malformed thresholds are counted and fall back to the
// configured ratio; th:0 (keep everything) counts once; nothing panics.
func TestBadTracestate(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Sampling.RatioByService = map[string]float64{"epp": 0.5}
	})
	td, spans := newTraces()
	states := []string{
		"ot=th:", "ot=th:xyz", "ot=th:123456789abcdef", "ot=th:C", // invalid: fallback 0.5 → 2
		"ot=th:0",              // valid, probability 1 → 1
		"ot=rv:00000000000000", // no threshold: fallback → 2
		"not a tracestate,,,=", // no ot entry: fallback → 2
	}
	for i, ts := range states {
		r := request{id: byte(100 + i), model: "m", took: time.Millisecond, scorers: []scorerSpec{
			scorer("queue-scorer", "queue", 10*time.Microsecond, 1, 1),
		}}
		before := spans.Len()
		addChildren(spans, r)
		addParent(spans, r)
		for j := before; j < spans.Len(); j++ {
			spans.At(j).TraceState().FromRaw(ts)
		}
	}
	require.NotPanics(t, func() { h.consume(t, td) })
	md := h.flush(t)
	assertNoNaN(t, md)
	// 4 invalid × 2 spans each.
	assert.EqualValues(t, 8, h.counter(t, "otelcol_connector_eppscoring_sampling_threshold_invalid", "", ""))
	assert.Equal(t, map[string]int64{
		schema.SamplingMethodExtrapolated: 4*2 + 1 + 2 + 2,
	}, sumPoints(md, schema.MetricScorerCalls, schema.AttrSamplingMethod))
}

// TestSamplingMethodOff: with enable_metrics_sampling_method false the
// attribute is absent and counts are still extrapolated.
func TestSamplingMethodOff(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.EnableMetricsSamplingMethod = false
		c.Sampling.DefaultRatio = 0.25
	})
	h.consume(t, batch(reqLlama))
	md := h.flush(t)
	assert.Equal(t, map[string]int64{"": 16}, sumPoints(md, schema.MetricScorerCalls, schema.AttrSamplingMethod))
}

// TestSampledHotPathAllocations: reading thresholds allocates nothing.
func TestSampledHotPathAllocations(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Sampling.DefaultRatio = 0.3 })
	td := mixedBatch(1000, true)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		spans := rss.At(i).ScopeSpans().At(0).Spans()
		for j := 0; j < spans.Len(); j++ {
			// Alternate two traces' states so the one-entry cache misses.
			spans.At(j).TraceState().FromRaw([]string{"ot=th:e666666666666", "a=b,ot=rv:abcdef01234567;th:c"}[j%2])
		}
	}
	ctx := context.Background()
	_ = h.c.ConsumeTraces(ctx, td)
	assert.Zero(t, testing.AllocsPerRun(20, func() { _ = h.c.ConsumeTraces(ctx, td) }))
}
