package eppscoringconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"
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
				assert.Equal(t, map[string]any{"service.name": "epp"}, attrs.AsRaw(), "only key attributes are copied")
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
