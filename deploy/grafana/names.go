package dashboards

import (
	"strings"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// PromName is how an OpenTelemetry metric name or attribute key appears in
// the classic Prometheus format, as the collector's Prometheus exporter
// writes it: every character outside [a-zA-Z0-9_] becomes an underscore.
func PromName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// Metric kinds, as the Prometheus exporter renders them.
type kind uint8

const (
	histogram kind = iota // <name>[_<unit>]_bucket, _sum, _count
	counter               // <name>[_<unit>]_total
)

// connectorMetric is one metric of the eppscoring connector: its name in
// scheduler/schema, its kind and the unit suffix the exporter appends
// (processor/eppscoringconnector/documentation.md lists the units).
type connectorMetric struct {
	otel string
	kind kind
	unit string
}

// connectorMetrics covers schema.Metrics(), in its order (a test holds the
// two together): a metric added to the schema without a row here fails it.
var connectorMetrics = []connectorMetric{
	{schema.MetricScorerDuration, histogram, "_seconds"},
	{schema.MetricScorerCalls, counter, ""},
	{schema.MetricScorerErrors, counter, ""},
	{schema.MetricScorerScoreMax, histogram, ""},
	{schema.MetricScorerScoreAvg, histogram, ""},
	{schema.MetricScorerDecisive, counter, ""},
	{schema.MetricScoringDuration, histogram, "_seconds"},
	{schema.MetricScoringCandidates, histogram, ""},
	{schema.MetricScoringMargin, histogram, ""},
	{schema.MetricScoringTies, counter, ""},
}

// base returns the metric's Prometheus name without the kind's suffixes.
func (m connectorMetric) base() string { return PromName(m.otel) + m.unit }

// series returns the sample names Prometheus stores for the metric.
func (m connectorMetric) series() []string {
	if m.kind == counter {
		return []string{m.base() + "_total"}
	}
	return []string{m.base() + "_bucket", m.base() + "_sum", m.base() + "_count"}
}

func metricBase(otel string) string {
	for _, m := range connectorMetrics {
		if m.otel == otel {
			return m.base()
		}
	}
	panic("dashboards: no connector metric " + otel)
}

// Prometheus names of the connector's series, derived from scheduler/schema.
var (
	scorerDuration   = metricBase(schema.MetricScorerDuration)
	scorerCalls      = metricBase(schema.MetricScorerCalls) + "_total"
	scorerErrors     = metricBase(schema.MetricScorerErrors) + "_total"
	scoreMax         = metricBase(schema.MetricScorerScoreMax)
	scoreAvg         = metricBase(schema.MetricScorerScoreAvg)
	scoringDuration  = metricBase(schema.MetricScoringDuration)
	scoringCandidate = metricBase(schema.MetricScoringCandidates)
	scorerDecisive   = metricBase(schema.MetricScorerDecisive) + "_total"
	scoringMargin    = metricBase(schema.MetricScoringMargin)
	scoringTies      = metricBase(schema.MetricScoringTies) + "_total"

	labelType     = PromName(schema.AttrScorerType)
	labelName     = PromName(schema.AttrScorerName)
	labelModel    = PromName(schema.AttrRequestModel)
	labelProfile  = PromName(schema.AttrProfileName)
	labelOverflow = PromName(schema.AttrMetricOverflow)
)

// The components' own telemetry on the collector's metrics endpoint, as
// listed in processor/eppscoringprocessor/documentation.md and
// processor/eppscoringconnector/documentation.md (TestOwnTelemetryDocumented
// holds them to those files; the end-to-end test to the running collector).
// With the collector's default telemetry reader, counters carry no _total
// suffix: these are the names as exposed.
const (
	ProcessorSpansChecked         = "otelcol_processor_eppscoring_spans_checked"
	ProcessorAttributesRemoved    = "otelcol_processor_eppscoring_attributes_removed"
	ProcessorAttributesReported   = "otelcol_processor_eppscoring_attributes_reported"
	ProcessorSpansRenamed         = "otelcol_processor_eppscoring_spans_renamed"
	ProcessorSpansReported        = "otelcol_processor_eppscoring_spans_reported"
	ConnectorSpansObserved        = "otelcol_connector_eppscoring_spans_observed"
	ConnectorSpansSkipped         = "otelcol_connector_eppscoring_spans_skipped"
	ConnectorValuesSkipped        = "otelcol_connector_eppscoring_values_skipped"
	ConnectorJoinMatched          = "otelcol_connector_eppscoring_join_matched"
	ConnectorJoinUnmatched        = "otelcol_connector_eppscoring_join_unmatched"
	ConnectorJoinPending          = "otelcol_connector_eppscoring_join_pending"
	ConnectorSeriesActive         = "otelcol_connector_eppscoring_series_active"
	ConnectorSeriesOverflow       = "otelcol_connector_eppscoring_series_overflow"
	ConnectorProfileJoinMatched   = "otelcol_connector_eppscoring_profile_join_matched"
	ConnectorProfileJoinUnmatched = "otelcol_connector_eppscoring_profile_join_unmatched"
	ConnectorThresholdInvalid     = "otelcol_connector_eppscoring_sampling_threshold_invalid"
)

// OwnTelemetry returns the components' own metric names above, as a fresh slice.
func OwnTelemetry() []string {
	return []string{
		ProcessorSpansChecked, ProcessorAttributesRemoved, ProcessorAttributesReported,
		ProcessorSpansRenamed, ProcessorSpansReported,
		ConnectorSpansObserved, ConnectorSpansSkipped, ConnectorValuesSkipped,
		ConnectorJoinMatched, ConnectorJoinUnmatched, ConnectorJoinPending,
		ConnectorSeriesActive, ConnectorSeriesOverflow,
		ConnectorProfileJoinMatched, ConnectorProfileJoinUnmatched, ConnectorThresholdInvalid,
	}
}

// ConnectorSeries returns every sample name Prometheus stores for the
// connector's metrics (histograms as _bucket, _sum and _count; counters with
// _total), derived from scheduler/schema, as a fresh slice.
func ConnectorSeries() []string {
	var out []string
	for _, m := range connectorMetrics {
		out = append(out, m.series()...)
	}
	return out
}

// Labels returns the label names the dashboard and the rules may use: the
// connector's attributes as Prometheus labels, derived from
// scheduler/schema, the exporter's and Prometheus's target labels, the own
// telemetry's attribute names and the histogram bucket label.
func Labels() []string {
	return []string{
		labelType, labelName, labelModel, labelProfile, labelOverflow,
		"job", "instance", "le", "reason", "family",
	}
}
