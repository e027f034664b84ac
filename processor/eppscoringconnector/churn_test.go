package eppscoringconnector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// podBatch is one export of an EPP pod: a lifetime's own
// service.instance.id and k8s.pod.name, as upstream's chart sets them.
func podBatch(lifetime int, reqs ...request) ptrace.Traces {
	td := batch(reqs...)
	attrs := td.ResourceSpans().At(0).Resource().Attributes()
	attrs.PutStr(string(semconv.ServiceInstanceIDKey), fmt.Sprintf("0b6f3c1e-%04d-4c2a-9d1e-7a5b3c2d1e0f", lifetime))
	attrs.PutStr(string(semconv.K8SPodNameKey), fmt.Sprintf("epp-7d9f8b6c5-%05d", lifetime))
	attrs.PutStr(string(semconv.K8SNamespaceNameKey), "llm-d")
	return td
}

// churn drives 100 pod lifetimes of one EPP deployment through h: each
// lifetime serves requests for a while, then the pod is replaced.
func churn(t *testing.T, h *harness, lifetimes, requestsPerLifetime int) {
	t.Helper()
	for l := range lifetimes {
		for i := range requestsPerLifetime {
			r := reqLlama
			r.id = byte(i)
			h.consume(t, podBatch(l, r))
		}
		h.clk.Advance(10 * time.Minute) // a rolling restart every ten minutes
		h.flush(t)
	}
}

// TestDefaultsSurvivePodChurn: with the default configuration, a hundred
// pod lifetimes (a new service.instance.id and pod name each) keep one
// resource and one series per scorer, with nothing in the overflow series
// and every call counted.
func TestDefaultsSurvivePodChurn(t *testing.T) {
	const lifetimes, perLifetime = 100, 30
	core, logs := observer.New(zapcore.WarnLevel)
	h := newHarness(t, nil)
	h.c.logger = zap.New(core)
	churn(t, h, lifetimes, perLifetime)

	assert.Len(t, h.c.agg.resources, 1, "one EPP deployment, one resource")
	assert.Equal(t, len(reqLlama.scorers), h.c.agg.nScorers)
	assert.Equal(t, 1, h.c.agg.nChains)
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "", ""))
	assert.Zero(t, logs.Len(), "no warning: nothing overflowed")

	md := h.flush(t)
	require.Equal(t, 1, md.ResourceMetrics().Len())
	res := md.ResourceMetrics().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, map[string]any{
		string(semconv.ServiceNameKey):      "epp",
		string(semconv.K8SNamespaceNameKey): "llm-d",
		schema.AttrCollectorInstanceID:      testCollectorID,
	}, res, "the pod's identity is not a key")
	for typ, calls := range sumPoints(md, schema.MetricScorerCalls, schema.AttrScorerType) {
		assert.EqualValues(t, lifetimes*perLifetime, calls, typ)
	}
}

// TestPerPodKeysOverflowAndWarn: keyed by every resource attribute (the
// old default), the same churn exhausts a limit and folds into the overflow
// series; the connector warns at once, then at most every
// overflowWarnEvery, with the observations folded meanwhile.
func TestPerPodKeysOverflowAndWarn(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	h := newHarness(t, func(c *Config) {
		c.ResourceMetricsKeyAttributes = nil
		c.MetricsExpiration, c.SeriesExpiration = 0, 0
		c.AggregationCardinalityLimit = 40 // ten lifetimes of four scorers
	})
	h.c.logger = zap.New(core)
	churn(t, h, 12, 1) // lifetimes 11 and 12 overflow the scorers, 10 minutes apart
	assert.EqualValues(t, 8, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "family", "scorer"))
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "family", "scoring"), "12 chains fit")

	folded := func() []int64 {
		var out []int64
		for _, e := range logs.FilterMessageSnippet("aggregation_cardinality_limit").AllUntimed() {
			fields := e.ContextMap()
			assert.Equal(t, "scorer", fields["family"])
			out = append(out, fields["observations_folded"].(int64))
		}
		return out
	}
	// Two warnings, overflowWarnEvery apart, each with its lifetime's 4.
	assert.Equal(t, []int64{4, 4}, folded())
	assert.Equal(t, true, logs.AllUntimed()[0].ContextMap()["first"])

	// Within overflowWarnEvery, more overflow is summed, not logged.
	h.consume(t, podBatch(99, reqLlama)) // 10 minutes after the last: logged
	h.consume(t, podBatch(98, reqLlama)) // at once: summed
	assert.Equal(t, []int64{4, 4, 4}, folded(), "rate-limited")
	h.clk.Advance(overflowWarnEvery)
	h.consume(t, podBatch(97, reqLlama))
	assert.Equal(t, []int64{4, 4, 4, 8}, folded(), "the next warning carries what was summed")
	assert.Equal(t, false, logs.AllUntimed()[3].ContextMap()["first"])
	require.NoError(t, h.c.Shutdown(context.Background()))
}
