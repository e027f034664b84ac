// Package eppscoringprocessor implements the collector processor
// "eppscoring": it enforces the no-per-endpoint rule of the scoring-path
// span schema (scheduler/schema) on traces.
package eppscoringprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/scorelens/scorelens/processor/eppscoringprocessor/internal/metadata"
)

// NewFactory returns the factory of the eppscoring processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		processor.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	pCfg, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("eppscoring: config is %T, want *Config", cfg)
	}
	p, err := newProcessor(set, pCfg)
	if err != nil {
		return nil, fmt.Errorf("eppscoring: creating telemetry: %w", err)
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		// Report mode never writes (its tests run it on read-only data), so
		// it declares no mutation: the fan-out then need not clone the
		// batch for it and may share it read-only with other consumers.
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: p.strip}),
	)
}
