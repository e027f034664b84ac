// Code written by hand in the shape mdatagen generates (mdatagen is not
// available here); keep it in sync with ../../metadata.yaml and
// ../../documentation.md.

package metadata

import (
	"errors"

	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the processor's meter.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the instruments of the processor's own telemetry.
type TelemetryBuilder struct {
	meter metric.Meter
	// ProcessorEppscoringSpansChecked counts spans in scope of the rule.
	ProcessorEppscoringSpansChecked metric.Int64Counter
	// ProcessorEppscoringAttributesRemoved counts attributes removed (mode strip), by reason.
	ProcessorEppscoringAttributesRemoved metric.Int64Counter
	// ProcessorEppscoringAttributesReported counts attributes that break the rule and were left in place (mode report), by reason.
	ProcessorEppscoringAttributesReported metric.Int64Counter
	// ProcessorEppscoringSpansRenamed counts scorer spans renamed to the overflow name (mode strip), by reason.
	ProcessorEppscoringSpansRenamed metric.Int64Counter
	// ProcessorEppscoringSpansReported counts scorer span names that break the rule and were left in place (mode report), by reason.
	ProcessorEppscoringSpansReported metric.Int64Counter
}

// NewTelemetryBuilder creates the processor's instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	builder.ProcessorEppscoringSpansChecked, err = builder.meter.Int64Counter(
		"otelcol_processor_eppscoring_spans_checked",
		metric.WithDescription("Number of spans in scope of the no-per-endpoint rule that the processor checked. [Alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorEppscoringAttributesRemoved, err = builder.meter.Int64Counter(
		"otelcol_processor_eppscoring_attributes_removed",
		metric.WithDescription("Number of span, span event and span link attributes removed (mode strip), by reason. [Alpha]"),
		metric.WithUnit("{attribute}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorEppscoringAttributesReported, err = builder.meter.Int64Counter(
		"otelcol_processor_eppscoring_attributes_reported",
		metric.WithDescription("Number of span, span event and span link attributes that break the rule, left in place (mode report), by reason. [Alpha]"),
		metric.WithUnit("{attribute}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorEppscoringSpansRenamed, err = builder.meter.Int64Counter(
		"otelcol_processor_eppscoring_spans_renamed",
		metric.WithDescription("Number of scorer spans renamed to the overflow name (mode strip), by reason. [Alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorEppscoringSpansReported, err = builder.meter.Int64Counter(
		"otelcol_processor_eppscoring_spans_reported",
		metric.WithDescription("Number of scorer span names that break the rule, left in place (mode report), by reason. [Alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
