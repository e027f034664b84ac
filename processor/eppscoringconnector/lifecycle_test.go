package eppscoringconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
)

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, metadata.Type, NewFactory().Type())
	require.Equal(t, metadata.TracesToMetricsStability, NewFactory().TracesToMetricsStability())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

// ctxKey carries a value through ConsumeTraces → flush → next consumer.
type ctxKey struct{}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	cfg := factory.CreateDefaultConfig()
	sub, err := cm.Sub("tests::config")
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(&cfg))

	create := func() (connector.Traces, error) {
		router := connector.NewMetricsRouter(map[pipeline.ID]consumer.Metrics{pipeline.NewID(pipeline.SignalMetrics): consumertest.NewNop()})
		return factory.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, router)
	}
	t.Run("shutdown_without_start", func(t *testing.T) {
		c, err := create()
		require.NoError(t, err)
		require.NoError(t, c.Shutdown(context.Background()))
	})
	t.Run("lifecycle", func(t *testing.T) {
		for range 2 {
			c, err := create()
			require.NoError(t, err)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			require.NoError(t, c.ConsumeTraces(context.Background(), batch(reqLlama)))
			require.NoError(t, c.Shutdown(context.Background()))
			require.NoError(t, c.Shutdown(context.Background()), "a second shutdown is harmless")
		}
	})
}

// TestTickerFlushes runs the real ticker and polls the sink: no sleeps.
func TestTickerFlushes(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.MetricsFlushInterval = 10 * time.Millisecond
	sink := new(consumertest.MetricsSink)
	c, err := NewFactory().CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeTraces(context.Background(), batch(reqLlama)))
	assert.Eventually(t, func() bool { return sink.DataPointCount() > 0 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, c.Shutdown(context.Background()))
}

// TestShutdownEmitsWaitingChildren: what waits for a parent is not lost,
// and the shutdown context reaches the next consumer.
func TestShutdownEmitsWaitingChildren(t *testing.T) {
	var got []any
	var points int
	next, err := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		got = append(got, ctx.Value(ctxKey{}))
		points += md.DataPointCount()
		return nil
	})
	require.NoError(t, err)
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	c, err := NewFactory().CreateTracesToMetrics(context.Background(), set, createDefaultConfig(), next)
	require.NoError(t, err)
	td, spans := newTraces()
	addChildren(spans, reqLlama)
	require.NoError(t, c.ConsumeTraces(context.Background(), td))
	require.NoError(t, c.Shutdown(context.WithValue(context.Background(), ctxKey{}, "shutdown")))
	assert.Equal(t, []any{"shutdown"}, got)
	// Four scorers × (duration, calls, errors), three of them with scores × (max, avg).
	assert.Equal(t, 4*3+3*2, points)
	m, err := tel.GetMetric("otelcol_connector_eppscoring_join_unmatched")
	require.NoError(t, err)
	assert.EqualValues(t, 4, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
}
