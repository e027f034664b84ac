package metadata

import (
	"errors"

	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the connector's meter.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the instruments of the connector's own telemetry
// (see documentation.md).
type TelemetryBuilder struct {
	ConnectorEppscoringSpansObserved  metric.Int64Counter
	ConnectorEppscoringSpansSkipped   metric.Int64Counter
	ConnectorEppscoringValuesSkipped  metric.Int64Counter
	ConnectorEppscoringJoinMatched    metric.Int64Counter
	ConnectorEppscoringJoinUnmatched  metric.Int64Counter
	ConnectorEppscoringJoinPending    metric.Int64Gauge
	ConnectorEppscoringSeriesActive   metric.Int64Gauge
	ConnectorEppscoringSeriesOverflow metric.Int64Counter
	// The chain's wait for its run_scheduler_profile parent.
	ConnectorEppscoringProfileJoinMatched   metric.Int64Counter
	ConnectorEppscoringProfileJoinUnmatched metric.Int64Counter
	ConnectorEppscoringSamplingInvalid      metric.Int64Counter
}

// NewTelemetryBuilder creates every instrument of the connector's own
// telemetry.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	meter := Meter(settings)
	var b TelemetryBuilder
	var err, errs error
	b.ConnectorEppscoringSpansObserved, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_spans_observed",
		metric.WithDescription("Schema spans aggregated into metrics, by family (scoring, scorer)."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringSpansSkipped, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_spans_skipped",
		metric.WithDescription("Schema spans that fed no metric, by reason (missing_attribute, wrong_type, invalid_duration)."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringValuesSkipped, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_values_skipped",
		metric.WithDescription("Attribute values of aggregated spans that were ignored, by reason (wrong_type, not_finite, out_of_range)."),
		metric.WithUnit("{value}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringJoinMatched, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_join_matched",
		metric.WithDescription("Scorer spans that waited for their parent scoring span and found it."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringJoinUnmatched, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_join_unmatched",
		metric.WithDescription("Scorer spans emitted without the model because their parent never came, by reason (timeout, evicted, no_parent, shutdown)."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringJoinPending, err = meter.Int64Gauge(
		"otelcol_connector_eppscoring_join_pending",
		metric.WithDescription("Observations held waiting for their parent span (scorers for their scoring span, chains for their profile)."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringSeriesActive, err = meter.Int64Gauge(
		"otelcol_connector_eppscoring_series_active",
		metric.WithDescription("Series held in memory, by family (scorer, scoring), overflow series excluded."),
		metric.WithUnit("{series}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringSeriesOverflow, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_series_overflow",
		metric.WithDescription("Observations folded into the otel.metric.overflow series because aggregation_cardinality_limit was reached, by family."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringProfileJoinMatched, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_profile_join_matched",
		metric.WithDescription("Scoring spans in upstream's scopes that found their run_scheduler_profile parent (and took its profile name)."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringProfileJoinUnmatched, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_profile_join_unmatched",
		metric.WithDescription("Scoring spans in upstream's scopes emitted without a profile because their run_scheduler_profile parent never came, by reason (timeout, evicted, no_parent, shutdown)."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ConnectorEppscoringSamplingInvalid, err = meter.Int64Counter(
		"otelcol_connector_eppscoring_sampling_threshold_invalid",
		metric.WithDescription("Schema spans whose tracestate held a malformed sampling threshold (ot=th); they were counted with the configured sampling ratio."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	return &b, errs
}
