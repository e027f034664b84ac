package eppscoringconnector

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// docRows returns documentation.md's table rows that start with a metric
// name, by name: the cells after the name, backticks removed.
func docRows(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("documentation.md")
	require.NoError(t, err)
	rows := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(strings.ReplaceAll(cells[i], "`", ""))
		}
		require.NotContains(t, rows, cells[0], "documented twice")
		rows[cells[0]] = cells[1:]
	}
	return rows
}

// TestDocumentationListsEmittedMetrics holds documentation.md to the
// metrics the connector emits: names, types and units, none missing, none
// extra, in the schema's list.
func TestDocumentationListsEmittedMetrics(t *testing.T) {
	rows := docRows(t)
	var names []string
	for _, d := range metricDescs {
		names = append(names, d.name)
		row, ok := rows[d.name]
		if !assert.True(t, ok, "%s is not documented", d.name) {
			continue
		}
		want := map[metricKind]string{kindDuration: "histogram", kindHistogram: "histogram", kindCounter: "sum"}[d.kind]
		assert.True(t, strings.HasPrefix(row[0], want), "%s: documented as %q, emitted as %s", d.name, row[0], want)
		assert.Equal(t, d.unit, row[1], "%s unit", d.name)
	}
	assert.Equal(t, schema.Metrics(), names, "emitted in the schema's order")
	for name := range rows {
		if !strings.HasPrefix(name, "otelcol_") {
			assert.Contains(t, names, name, "documented but not emitted")
		}
	}
}

// TestDocumentationListsOwnTelemetry holds documentation.md to the
// instruments the connector creates and the attribute values it records.
func TestDocumentationListsOwnTelemetry(t *testing.T) {
	mp := &recordingMeterProvider{units: map[string]string{}, kinds: map[string]string{}}
	set := componenttest.NewNopTelemetrySettings()
	set.MeterProvider = mp
	_, err := metadata.NewTelemetryBuilder(set)
	require.NoError(t, err)
	require.NotEmpty(t, mp.units)

	rows := docRows(t)
	for name, unit := range mp.units {
		row, ok := rows[name]
		if !assert.True(t, ok, "%s is not documented", name) {
			continue
		}
		assert.Equal(t, mp.kinds[name], row[0], "%s type", name)
		assert.Equal(t, unit, row[1], "%s unit", name)
	}
	for name := range rows {
		if strings.HasPrefix(name, "otelcol_") {
			assert.Contains(t, mp.units, name, "documented but not created")
		}
	}
	for name, values := range map[string][]string{
		"otelcol_connector_eppscoring_spans_observed":         familyNames[:],
		"otelcol_connector_eppscoring_spans_skipped":          skipReasonNames[:],
		"otelcol_connector_eppscoring_values_skipped":         valueReasonNames[:],
		"otelcol_connector_eppscoring_join_unmatched":         unmatchedReasonNames[:],
		"otelcol_connector_eppscoring_profile_join_unmatched": unmatchedReasonNames[:],
	} {
		assert.Contains(t, rows[name][2], strings.Join(values, ", "), "%s attribute values", name)
	}
}

// recordingMeterProvider notes the name, kind and unit of every instrument
// created through it.
type recordingMeterProvider struct {
	noop.MeterProvider
	units, kinds map[string]string
}

func (p *recordingMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter {
	return &recordingMeter{p: p}
}

type recordingMeter struct {
	noop.Meter
	p *recordingMeterProvider
}

func (m *recordingMeter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	m.p.units[name], m.p.kinds[name] = metric.NewInt64CounterConfig(opts...).Unit(), "counter"
	return m.Meter.Int64Counter(name, opts...)
}

func (m *recordingMeter) Int64Gauge(name string, opts ...metric.Int64GaugeOption) (metric.Int64Gauge, error) {
	m.p.units[name], m.p.kinds[name] = metric.NewInt64GaugeConfig(opts...).Unit(), "gauge"
	return m.Meter.Int64Gauge(name, opts...)
}
