package eppscoringconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

func TestSeriesExpiration(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		// calls by model in the flush after qwen went quiet for 2 minutes
		want map[string]int64
	}{
		{name: "never", want: map[string]int64{"llama-3-8b": 8, "qwen-2-7b": 2}},
		{name: "series_expiration", config: func(c *Config) { c.SeriesExpiration = time.Minute },
			want: map[string]int64{"llama-3-8b": 8}},
		// The resource saw spans (llama) lately, so nothing of it expires.
		{name: "metrics_expiration", config: func(c *Config) { c.MetricsExpiration = time.Minute },
			want: map[string]int64{"llama-3-8b": 8, "qwen-2-7b": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.config)
			h.consume(t, batch(reqLlama, reqQwen))
			h.flush(t)
			h.clk.Advance(2 * time.Minute)
			h.consume(t, batch(reqLlama2))
			assert.Equal(t, tt.want, scorerCalls(h.flush(t)))
		})
	}
}

func TestMetricsExpirationDropsQuietResource(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MetricsExpiration = time.Minute })
	h.consume(t, batch(reqLlama))
	h.clk.Advance(2 * time.Minute)
	assert.Equal(t, 0, h.flush(t).DataPointCount())
	assert.Empty(t, h.c.agg.resources)
	assert.Zero(t, h.c.agg.nScorers)
	// It comes back as new series.
	h.consume(t, batch(reqLlama))
	assert.Equal(t, map[string]int64{"llama-3-8b": 4}, scorerCalls(h.flush(t)))
}

func TestResourceKeyAttributes(t *testing.T) {
	podBatch := func(pod string) ptrace.Traces {
		td := batch(reqLlama)
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("k8s.pod.name", pod)
		return td
	}
	tests := []struct {
		name          string
		keys          []string
		wantResources int
	}{
		{name: "all_attributes", wantResources: 2},
		{name: "service_name_only", keys: []string{"service.name"}, wantResources: 1},
		{name: "defaults", keys: DefaultResourceKeyAttributes(), wantResources: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.ResourceMetricsKeyAttributes = tt.keys })
			h.consume(t, podBatch("epp-a"))
			h.consume(t, podBatch("epp-b"))
			md := h.flush(t)
			assert.Equal(t, tt.wantResources, md.ResourceMetrics().Len())
			if tt.keys != nil {
				attrs := md.ResourceMetrics().At(0).Resource().Attributes()
				assert.Equal(t, map[string]any{"service.name": "epp", schema.AttrCollectorInstanceID: testCollectorID},
					attrs.AsRaw(), "only key attributes are copied, and the collector's identity added")
			}
		})
	}
}

func TestResourceLimitFoldsIntoOverflow(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AggregationCardinalityLimit = 1 })
	for _, pod := range []string{"a", "b", "c"} {
		td := batch(reqQwen)
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("k8s.pod.name", pod)
		h.consume(t, td)
	}
	assert.Len(t, h.c.agg.resources, 1)
	assert.LessOrEqual(t, h.c.agg.nScorers, 1)
	assert.LessOrEqual(t, h.c.agg.nChains, 1)
}

// TestExpiredSeriesComesBack: a series that expired while the direct-mapped
// cache still pointed at it must come back as a new, emitted series, not
// feed the dropped one.
func TestExpiredSeriesComesBack(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SeriesExpiration = time.Minute })
	qwenB := reqQwen
	qwenB.id = 20
	// Two qwen requests: the second finds its series through the cache.
	h.consume(t, batch(reqLlama, reqQwen, qwenB))
	h.flush(t)
	h.clk.Advance(2 * time.Minute)
	h.consume(t, batch(reqLlama2))
	assert.Equal(t, map[string]int64{"llama-3-8b": 8}, scorerCalls(h.flush(t)), "qwen expired")
	qwenC := reqQwen
	qwenC.id = 21
	h.consume(t, batch(qwenC))
	md := h.flush(t)
	assert.Equal(t, map[string]int64{"llama-3-8b": 8, "qwen-2-7b": 2}, scorerCalls(md))
	assert.Equal(t, 3, chainPoints(md), "two llama chains and the new qwen one")
	assert.Len(t, h.c.agg.scorers, h.c.agg.nScorers, "every counted series is in the map")
	assert.Len(t, h.c.agg.chains, h.c.agg.nChains)
}

// chainPoints counts llm_d.epp.scoring.duration points weighted by their
// count (the chains observed).
func chainPoints(md pmetric.Metrics) int {
	n := 0
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for k := 0; k < ms.Len(); k++ {
			if ms.At(k).Name() != schema.MetricScoringDuration {
				continue
			}
			dps := ms.At(k).Histogram().DataPoints()
			for d := 0; d < dps.Len(); d++ {
				n += int(dps.At(d).Count())
			}
		}
	}
	return n
}

// TestSeriesCacheSlotCollision: two scorer names that land on the same
// cache slot evict each other there but keep their own series.
func TestSeriesCacheSlotCollision(t *testing.T) {
	const typ, nameA, nameB = "queue-scorer", "qa-scorer", "qb-scorer"
	h := newHarness(t, nil)
	td, _ := newTraces()
	res := h.c.agg.resourceHash(td.ResourceSpans().At(0).Resource().Attributes())
	slot := func(name string) uint64 {
		return quickHash(res, methodCounted, typ, name, "llama-3-8b", "") & (seriesCacheSize - 1)
	}
	require.Equal(t, slot(nameA), slot(nameB), "the names must share a slot for this test to mean anything")
	r := request{id: 30, model: "llama-3-8b", took: time.Millisecond, candidates: 4}
	for i := 0; i < 6; i++ {
		name := nameA
		if i%2 == 1 {
			name = nameB
		}
		r.scorers = append(r.scorers, scorer(typ, name, time.Duration(i+1)*time.Microsecond, 0.5, 0.5))
	}
	h.consume(t, batch(r, r)) // twice: the second pass runs on warm slots
	assert.Equal(t, map[string]int64{nameA: 6, nameB: 6}, callsBy(h.flush(t), schema.AttrScorerName))
}

// TestResourceHashTellsSwappedKeyAndValueApart: resources keyed by all their
// attributes must not merge when one's key is the other's value.
func TestResourceHashTellsSwappedKeyAndValueApart(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResourceMetricsKeyAttributes = nil })
	for _, kv := range [][2]string{{"zone", "a"}, {"a", "zone"}} {
		td := batch(reqQwen)
		td.ResourceSpans().At(0).Resource().Attributes().PutStr(kv[0], kv[1])
		h.consume(t, td)
	}
	assert.Equal(t, 2, h.flush(t).ResourceMetrics().Len())
}

// TestScorerExpiresUnderLiveChain: a scorer series that expired while its
// chain's series lived on (the scorer left the chain for a while) must come
// back as a new, emitted series, though the chain's kids once held the
// dropped one.
func TestScorerExpiresUnderLiveChain(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SeriesExpiration = time.Minute })
	withA := request{id: 40, model: "llama-3-8b", took: time.Millisecond, candidates: 4, scorers: []scorerSpec{
		scorer("queue-scorer", "a", time.Microsecond, 0.5, 0.5),
		scorer("kv-cache-utilization-scorer", "b", time.Microsecond, 0.5, 0.5),
	}}
	onlyB := withA
	onlyB.scorers = withA.scorers[1:]
	h.consume(t, batch(withA))
	h.flush(t)
	for i := byte(0); i < 2; i++ { // 40 s apart: a expires, the chain and b do not
		h.clk.Advance(40 * time.Second)
		onlyB.id = 41 + i
		h.consume(t, batch(onlyB))
		h.flush(t)
	}
	_, aLives := h.c.agg.scorers[scorerKey{res: h.c.agg.resOrder[0], typ: "queue-scorer", name: "a",
		model: "llama-3-8b", method: methodCounted}]
	require.False(t, aLives, "a's series must have expired for this test to mean anything")
	require.Len(t, h.c.agg.chains, 1, "the chain's series must have lived on")

	withA.id = 43
	h.consume(t, batch(withA))
	assert.Equal(t, map[string]int64{"a": 1, "b": 4}, callsBy(h.flush(t), schema.AttrScorerName))
	assert.Len(t, h.c.agg.scorers, h.c.agg.nScorers)
}

// TestScorerOverflowUnderChain: with the scorer limit reached and the
// chain's series below it, every observation past the limit is folded and
// counted, in later batches too (overflow series are never a chain's kids).
func TestScorerOverflowUnderChain(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AggregationCardinalityLimit = 2 })
	r := request{id: 50, model: "llama-3-8b", took: time.Millisecond, candidates: 4}
	for _, name := range []string{"a", "b", "c", "d"} {
		r.scorers = append(r.scorers, scorer("queue-scorer", name, time.Microsecond, 0.5, 0.5))
	}
	h.consume(t, batch(r))
	r.id = 51
	h.consume(t, batch(r))
	md := h.flush(t)
	assert.Equal(t, map[string]int64{"a": 2, "b": 2, "": 4}, callsBy(md, schema.AttrScorerName))
	assert.EqualValues(t, 4, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "family", "scorer"))
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "family", "scoring"))
}
