package metadata

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
)

func TestNewTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	tb, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	tb.ProcessorEppscoringSpansChecked.Add(t.Context(), 3)
	m, err := tel.GetMetric("otelcol_processor_eppscoring_spans_checked")
	if err != nil {
		t.Fatal(err)
	}
	if m.Unit != "{span}" {
		t.Fatalf("unit = %q", m.Unit)
	}
}
