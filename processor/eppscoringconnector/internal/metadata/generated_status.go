// Package metadata holds what mdatagen would generate for the eppscoring
// connector (mdatagen is not available here, so it is written by hand):
// the component type, its stability and its own telemetry.
package metadata

import "go.opentelemetry.io/collector/component"

var (
	// Type is the component type of the connector.
	Type = component.MustNewType("eppscoring")
	// ScopeName is the instrumentation scope of the connector's own
	// telemetry and of the metrics it emits.
	ScopeName = "github.com/scorelens/scorelens/processor/eppscoringconnector"
)

// TracesToMetricsStability is the stability of the traces → metrics pair.
const TracesToMetricsStability = component.StabilityLevelAlpha
