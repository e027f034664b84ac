// Code written by hand in the shape mdatagen generates (mdatagen is not
// available here); keep it in sync with ../../metadata.yaml.

// Package metadata contains the telemetry and build information of the
// eppscoring processor.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type of the processor.
	Type = component.MustNewType("eppscoring")
	// ScopeName is the instrumentation scope of the processor's own telemetry.
	ScopeName = "github.com/scorelens/scorelens/processor/eppscoringprocessor"
)

const (
	// TracesStability is the stability of the traces pipeline.
	TracesStability = component.StabilityLevelAlpha
)
