package eppscoringconnector

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
)

// telemetry adds a batch's or a flush's stats to the connector's own
// instruments. Attribute sets are built once, so reporting allocates
// nothing per call.
type telemetry struct {
	tb          *metadata.TelemetryBuilder
	family      [nFamilies][]metric.AddOption
	familyGauge [nFamilies][]metric.RecordOption
	skipped     [nSkipReasons][]metric.AddOption
	values      [nValueReasons][]metric.AddOption
	unmatched   [nUnmatchedReasons][]metric.AddOption
	// Last gauge values recorded, to record only changes.
	lastPending int64
	lastSeries  [nFamilies]int64
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	t := &telemetry{tb: tb, lastPending: -1, lastSeries: [nFamilies]int64{-1, -1}}
	for i, name := range familyNames {
		s := attribute.NewSet(attribute.String("family", name))
		t.family[i] = []metric.AddOption{metric.WithAttributeSet(s)}
		t.familyGauge[i] = []metric.RecordOption{metric.WithAttributeSet(s)}
	}
	for i, r := range skipReasonNames {
		t.skipped[i] = reasonOption(r)
	}
	for i, r := range valueReasonNames {
		t.values[i] = reasonOption(r)
	}
	for i, r := range unmatchedReasonNames {
		t.unmatched[i] = reasonOption(r)
	}
	return t, nil
}

// Attribute values of the own telemetry, indexed like the stats arrays
// (documentation.md lists them; doc_test.go holds the two together).
var (
	familyNames          = [nFamilies]string{"scoring", "scorer"}
	skipReasonNames      = [nSkipReasons]string{"missing_attribute", "wrong_type", "invalid_duration"}
	valueReasonNames     = [nValueReasons]string{"wrong_type", "not_finite", "out_of_range"}
	unmatchedReasonNames = [nUnmatchedReasons]string{"timeout", "evicted", "no_parent", "shutdown"}
)

func reasonOption(reason string) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))}
}

// report adds st and records the gauges that changed. The caller holds the
// connector's lock, which serializes calls and guards last*.
func (t *telemetry) report(ctx context.Context, st *stats, pending int64, series [nFamilies]int64) {
	add := func(c metric.Int64Counter, n int64, opts []metric.AddOption) {
		if n != 0 {
			c.Add(ctx, n, opts...)
		}
	}
	for i := range st.observed {
		add(t.tb.ConnectorEppscoringSpansObserved, st.observed[i], t.family[i])
		add(t.tb.ConnectorEppscoringSeriesOverflow, st.overflow[i], t.family[i])
	}
	for i, n := range st.skipped {
		add(t.tb.ConnectorEppscoringSpansSkipped, n, t.skipped[i])
	}
	for i, n := range st.values {
		add(t.tb.ConnectorEppscoringValuesSkipped, n, t.values[i])
	}
	for i, n := range st.unmatched {
		add(t.tb.ConnectorEppscoringJoinUnmatched, n, t.unmatched[i])
	}
	add(t.tb.ConnectorEppscoringJoinMatched, st.matched, nil)
	for i, n := range st.profileUnmatched {
		add(t.tb.ConnectorEppscoringProfileJoinUnmatched, n, t.unmatched[i])
	}
	add(t.tb.ConnectorEppscoringProfileJoinMatched, st.profileMatched, nil)
	add(t.tb.ConnectorEppscoringSamplingInvalid, st.invalidThreshold, nil)
	if pending != t.lastPending {
		t.tb.ConnectorEppscoringJoinPending.Record(ctx, pending)
		t.lastPending = pending
	}
	for i, n := range series {
		if n != t.lastSeries[i] {
			t.tb.ConnectorEppscoringSeriesActive.Record(ctx, n, t.familyGauge[i]...)
			t.lastSeries[i] = n
		}
	}
}
