package eppscoringconnector

import (
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

var update = flag.Bool("update", false, "rewrite the golden metric files in testdata/golden")

// Realistic requests: four scorers under one parent, microsecond scale.
var (
	reqLlama = request{id: 1, model: "llama-3-8b", took: 900 * time.Microsecond, candidates: 12, scorers: []scorerSpec{
		scorer("prefix-cache-scorer", "prefix", 300*time.Microsecond, 0.9, 0.4),
		scorer("kv-cache-utilization-scorer", "kv", 40*time.Microsecond, 0.7, 0.5),
		scorer("queue-scorer", "queue", 15*time.Microsecond, 1, 0.6),
		noScores("lora-affinity-scorer", "lora", 8*time.Microsecond),
	}}
	reqQwen = request{id: 2, model: "qwen-2-7b", took: 3 * time.Millisecond, candidates: 300, scorers: []scorerSpec{
		scorer("prefix-cache-scorer", "prefix", 2*time.Millisecond, 0.2, 0.05),
		scorer("kv-cache-utilization-scorer", "kv", 120*time.Microsecond, 0.95, 0.3),
	}}
	reqLlama2 = request{id: 3, model: "llama-3-8b", took: 1200 * time.Microsecond, candidates: 12, scorers: []scorerSpec{
		scorer("prefix-cache-scorer", "prefix", 600*time.Microsecond, 0.8, 0.3),
		scorer("kv-cache-utilization-scorer", "kv", 60*time.Microsecond, 0.6, 0.4),
		scorer("queue-scorer", "queue", 20*time.Microsecond, 1, 0.5),
		{typ: "lora-affinity-scorer", name: "lora", took: 9 * time.Microsecond, max: 0, avg: 0, err: true},
	}}
)

// compareGolden compares a flush with testdata/golden/<name>.yaml; with
// -update it rewrites the file first.
func compareGolden(t *testing.T, name string, actual pmetric.Metrics) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".yaml")
	if *update {
		require.NoError(t, golden.WriteMetricsToFile(path, actual))
	}
	expected, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(expected, actual,
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		// The golden writer sorts data points; the connector emits in creation order.
		pmetrictest.IgnoreMetricDataPointsOrder(), pmetrictest.IgnoreResourceMetricsOrder()), "golden %s", path)
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		// run drives the connector and returns the flushes to compare, in
		// order, with golden files <name>_<i>.yaml.
		run func(t *testing.T, h *harness) []pmetric.Metrics
	}{
		{
			name: "explicit_cumulative",
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				h.consume(t, batch(reqLlama, reqQwen))
				first := h.flush(t)
				h.clk.Advance(15 * time.Second)
				h.consume(t, batch(reqLlama2))
				second := h.flush(t)
				h.clk.Advance(15 * time.Second)
				third := h.flush(t)
				// Cumulative: an idle interval repeats the totals.
				require.NoError(t, pmetrictest.CompareMetrics(second, third, pmetrictest.IgnoreTimestamp()))
				return []pmetric.Metrics{first, second}
			},
		},
		{
			name:   "explicit_delta",
			config: func(c *Config) { c.AggregationTemporality = "delta" },
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				h.consume(t, batch(reqLlama, reqQwen))
				first := h.flush(t)
				h.clk.Advance(15 * time.Second)
				h.consume(t, batch(reqLlama2))
				second := h.flush(t)
				h.clk.Advance(15 * time.Second)
				// Delta: an idle interval emits nothing.
				assert.Equal(t, 0, h.flush(t).DataPointCount())
				// and an interval's points hold that interval only: the
				// same batch again gives the same points.
				h.clk.Advance(15 * time.Second)
				h.consume(t, batch(reqLlama2))
				require.NoError(t, pmetrictest.CompareMetrics(second, h.flush(t),
					pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp()))
				return []pmetric.Metrics{first, second}
			},
		},
		{
			name: "exponential",
			config: func(c *Config) {
				// A small max_size forces the histogram to scale down.
				c.Histogram.Exponential = &ExponentialHistogramConfig{MaxSize: 8}
			},
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				h.consume(t, batch(reqLlama, reqQwen, reqLlama2))
				return []pmetric.Metrics{h.flush(t)}
			},
		},
		{
			name: "exemplars",
			config: func(c *Config) {
				c.Exemplars = ExemplarsConfig{Enabled: true, MaxPerDataPoint: 2}
			},
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				third := reqLlama2
				third.id = 4
				h.consume(t, batch(reqLlama, reqLlama2, third))
				first := h.flush(t)
				h.consume(t, batch(reqQwen))
				// Exemplars start afresh after each flush.
				return []pmetric.Metrics{first, h.flush(t)}
			},
		},
		{
			name:   "cardinality_overflow",
			config: func(c *Config) { c.AggregationCardinalityLimit = 2 },
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				h.consume(t, batch(reqLlama, reqQwen))
				md := h.flush(t)
				// Four llama scorers, two fit; the rest and the qwen scorers
				// fold into the overflow series.
				assert.EqualValues(t, 4, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "family", "scorer"))
				assert.EqualValues(t, 0, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "family", "scoring"))
				assert.EqualValues(t, 2, h.counter(t, "otelcol_connector_eppscoring_series_active", "family", "scorer"))
				return []pmetric.Metrics{md}
			},
		},
		{
			name: "join_parent_in_later_batch",
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				td, spans := newTraces()
				addChildren(spans, reqLlama)
				h.consume(t, td)
				assert.Equal(t, 0, h.flush(t).DataPointCount(), "children wait for their parent")
				assert.EqualValues(t, 4, h.counter(t, "otelcol_connector_eppscoring_join_pending", "", ""))
				h.clk.Advance(2 * time.Second)
				td, spans = newTraces()
				addParent(spans, reqLlama)
				h.consume(t, td)
				assert.EqualValues(t, 4, h.counter(t, "otelcol_connector_eppscoring_join_matched", "", ""))
				assert.EqualValues(t, 0, h.counter(t, "otelcol_connector_eppscoring_join_pending", "", ""))
				return []pmetric.Metrics{h.flush(t)}
			},
		},
		{
			name: "join_parent_never",
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				td, spans := newTraces()
				addChildren(spans, reqLlama)
				h.consume(t, td)
				h.clk.Advance(defaultJoinTimeout)
				md := h.flush(t)
				assert.EqualValues(t, 4, h.counter(t, "otelcol_connector_eppscoring_join_unmatched", "reason", "timeout"))
				// The parent arriving after all counts the chain only, once.
				td, spans = newTraces()
				addParent(spans, reqLlama)
				h.consume(t, td)
				assert.EqualValues(t, 0, h.counter(t, "otelcol_connector_eppscoring_join_matched", "", ""))
				return []pmetric.Metrics{md, h.flush(t)}
			},
		},
		{
			name: "join_model_on_child_wins",
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				r := reqLlama
				r.scorers = append([]scorerSpec(nil), reqLlama.scorers...)
				r.scorers[0].model = "llama-3-8b-lora-a"
				td, spans := newTraces()
				addChildren(spans, r)
				h.consume(t, td)
				// Only the three children without a model wait.
				assert.EqualValues(t, 3, h.counter(t, "otelcol_connector_eppscoring_join_pending", "", ""))
				td, spans = newTraces()
				addParent(spans, r)
				h.consume(t, td)
				return []pmetric.Metrics{h.flush(t)}
			},
		},
		{
			name: "scorer_configured_twice",
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				r := request{id: 5, model: "llama-3-8b", took: time.Millisecond, candidates: 8, scorers: []scorerSpec{
					scorer("prefix-cache-scorer", "prefix-short", 100*time.Microsecond, 0.5, 0.2),
					scorer("prefix-cache-scorer", "prefix-long", 400*time.Microsecond, 0.9, 0.6),
				}}
				h.consume(t, batch(r))
				return []pmetric.Metrics{h.flush(t)}
			},
		},
		{
			// Who decided: two chains with the signals (one clear pick
			// decided by prefix, one tie), one chain without them (an
			// instrumentation that does not compute them) adding calls only.
			name: "decision",
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				decided := func(id byte, tied int64, margin float64, prefix, queue int8) request {
					return request{id: id, model: "llama-3-8b", took: time.Millisecond, candidates: 8, tied: tied, margin: margin,
						scorers: []scorerSpec{
							{typ: "prefix-cache-scorer", name: "prefix-cache-scorer", took: 100 * time.Microsecond, max: 1, avg: 0.4, decisive: prefix},
							{typ: "queue-scorer", name: "queue-scorer", took: 50 * time.Microsecond, max: 1, avg: 0.5, decisive: queue},
						}}
				}
				h.consume(t, batch(
					decided(1, 1, 0.25, 2, 1),       // prefix decided, margin 0.25
					decided(2, 3, 0, 1, 1),          // three-way tie: nobody decided
					decided(3, 0, math.NaN(), 0, 0), // no signals
					decided(4, 1, 0.015, 1, 2),      // queue decided, a close race
				))
				return []pmetric.Metrics{h.flush(t)}
			},
		},
		{
			name: "bad_input",
			run: func(t *testing.T, h *harness) []pmetric.Metrics {
				h.consume(t, badBatch())
				md := h.flush(t)
				for reason, want := range map[string]int64{"missing_attribute": 1, "wrong_type": 1, "invalid_duration": 2} {
					assert.Equal(t, want, h.counter(t, "otelcol_connector_eppscoring_spans_skipped", "reason", reason), reason)
				}
				for family, want := range map[string]int64{"scorer": 2, "scoring": 1} {
					assert.Equal(t, want, h.counter(t, "otelcol_connector_eppscoring_spans_observed", "family", family), family)
				}
				for reason, want := range map[string]int64{"wrong_type": 2, "not_finite": 2, "out_of_range": 1} {
					assert.Equal(t, want, h.counter(t, "otelcol_connector_eppscoring_values_skipped", "reason", reason), reason)
				}
				return []pmetric.Metrics{md}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.config)
			flushes := tt.run(t, h)
			for i, md := range flushes {
				require.NoError(t, pmetrictest.ValidateMetrics(md))
				assertNoNaN(t, md)
				compareGolden(t, fmt.Sprintf("%s_%d", tt.name, i+1), md)
			}
		})
	}
}
