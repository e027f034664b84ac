package eppscoringconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// TestPointTimestamps checks what the golden files ignore: cumulative
// points start when their series was created, delta points at the flush
// that ended their previous interval; every point ends at its flush.
func TestPointTimestamps(t *testing.T) {
	tests := []struct {
		temporality string
		expo        bool
		// secondStart is the start of the points of the second flush.
		secondStart func(created, firstFlush time.Time) time.Time
	}{
		{temporality: "cumulative", secondStart: func(created, _ time.Time) time.Time { return created }},
		{temporality: "delta", secondStart: func(_, firstFlush time.Time) time.Time { return firstFlush }},
		{temporality: "delta", expo: true, secondStart: func(_, firstFlush time.Time) time.Time { return firstFlush }},
	}
	for _, tt := range tests {
		name := tt.temporality
		if tt.expo {
			name += "_exponential"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.AggregationTemporality = tt.temporality
				if tt.expo {
					c.Histogram.Exponential = &ExponentialHistogramConfig{}
				}
			})
			created := h.clk.Now()
			h.consume(t, batch(reqLlama))
			h.clk.Advance(15 * time.Second)
			firstFlush := h.clk.Now()
			assertPointTimes(t, h.flush(t), created, firstFlush)
			h.clk.Advance(15 * time.Second)
			h.consume(t, batch(reqLlama2))
			h.clk.Advance(15 * time.Second)
			assertPointTimes(t, h.flush(t), tt.secondStart(created, firstFlush), h.clk.Now())
		})
	}
}

// assertPointTimes checks every data point of md against start and end.
func assertPointTimes(t *testing.T, md pmetric.Metrics, start, end time.Time) {
	t.Helper()
	require.Positive(t, md.DataPointCount())
	want := [2]pcommon.Timestamp{pcommon.NewTimestampFromTime(start), pcommon.NewTimestampFromTime(end)}
	check := func(name string, got [2]pcommon.Timestamp) {
		assert.Equal(t, want, got, "%s: [start, time]", name)
	}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for k := 0; k < ms.Len(); k++ {
			m := ms.At(k)
			switch m.Type() {
			case pmetric.MetricTypeHistogram:
				for _, dp := range m.Histogram().DataPoints().All() {
					check(m.Name(), [2]pcommon.Timestamp{dp.StartTimestamp(), dp.Timestamp()})
				}
			case pmetric.MetricTypeExponentialHistogram:
				for _, dp := range m.ExponentialHistogram().DataPoints().All() {
					check(m.Name(), [2]pcommon.Timestamp{dp.StartTimestamp(), dp.Timestamp()})
				}
			case pmetric.MetricTypeSum:
				for _, dp := range m.Sum().DataPoints().All() {
					check(m.Name(), [2]pcommon.Timestamp{dp.StartTimestamp(), dp.Timestamp()})
				}
			default:
				t.Errorf("%s: unexpected type %v", m.Name(), m.Type())
			}
		}
	}
}
