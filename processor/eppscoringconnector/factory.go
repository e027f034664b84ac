// Package eppscoringconnector is the collector connector eppscoring: it
// derives scorer-latency, call, error, score and candidate metrics from the
// llm-d EPP scoring spans (traces → metrics), carrying the parent span's
// model onto its scorers' series.
package eppscoringconnector

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
)

// NewFactory returns the factory of the eppscoring connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability),
	)
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("eppscoring connector: unexpected config type %T", cfg)
	}
	return newConnector(set, c, next)
}
