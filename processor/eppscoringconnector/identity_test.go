package eppscoringconnector

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// identities returns the collector.instance.id of every emitted resource
// and the version of every scope.
func identities(t *testing.T, md pmetric.Metrics) (ids, versions []string) {
	t.Helper()
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		v, ok := rm.Resource().Attributes().Get(schema.AttrCollectorInstanceID)
		require.True(t, ok, "resource %d lacks %s", i, schema.AttrCollectorInstanceID)
		ids = append(ids, v.Str())
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			assert.Equal(t, metadata.ScopeName, rm.ScopeMetrics().At(j).Scope().Name())
			versions = append(versions, rm.ScopeMetrics().At(j).Scope().Version())
		}
	}
	return ids, versions
}

// TestEveryResourceCarriesTheCollectorIdentity: the collector's own
// service.instance.id on every ResourceMetrics (the overflow resource
// included), the build's version on every scope.
func TestEveryResourceCarriesTheCollectorIdentity(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AggregationCardinalityLimit = 1 }) // epp-b goes to the overflow resource
	td := batch(reqLlama)
	td2 := batch(reqQwen)
	td2.ResourceSpans().At(0).Resource().Attributes().PutStr("service.name", "epp-b")
	h.consume(t, td)
	h.consume(t, td2)
	md := h.flush(t)
	ids, versions := identities(t, md)
	require.Len(t, ids, 2, "the EPP's resource and the overflow resource")
	for _, id := range ids {
		assert.Equal(t, testCollectorID, id)
	}
	for _, v := range versions {
		assert.Equal(t, testVersion, v)
	}
}

// TestCollectorIdentityFallback: without a service.instance.id in the
// collector's resource (a bare harness; the collector service always sets
// one), a random UUID, the same for every flush of one connector and
// different between two.
func TestCollectorIdentityFallback(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	idOf := func() string {
		sink := new(consumertest.MetricsSink)
		c, err := newConnector(connectortest.NewNopSettings(metadata.Type), createDefaultConfig(), sink)
		require.NoError(t, err)
		var first string
		for range 2 {
			require.NoError(t, c.ConsumeTraces(context.Background(), batch(reqLlama)))
			require.NoError(t, c.flush(context.Background()))
			ids, _ := identities(t, sink.AllMetrics()[len(sink.AllMetrics())-1])
			require.Len(t, ids, 1)
			if first == "" {
				first = ids[0]
			}
			assert.Equal(t, first, ids[0], "stable for the connector's lifetime")
		}
		assert.Regexp(t, uuidRE, first)
		return first
	}
	assert.NotEqual(t, idOf(), idOf())
}
