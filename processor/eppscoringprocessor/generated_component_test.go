package eppscoringprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/scorelens/scorelens/processor/eppscoringprocessor/internal/metadata"
	"github.com/scorelens/scorelens/scheduler/schema"
)

var typ = component.MustNewType("eppscoring")

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, typ, NewFactory().Type())
	require.Equal(t, metadata.Type, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestDefaultConfigValidates(t *testing.T) {
	require.NoError(t, NewFactory().CreateDefaultConfig().(*Config).Validate())
}

type contextCapturingConsumer struct {
	capturedCtx context.Context
	traces      ptrace.Traces
}

func (*contextCapturingConsumer) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *contextCapturingConsumer) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	c.capturedCtx = ctx
	c.traces = td
	return nil
}

type ccpKey struct{}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	for _, mode := range []Mode{ModeStrip, ModeReport} {
		cfg := factory.CreateDefaultConfig().(*Config)
		cfg.Mode = mode
		t.Run(string(mode)+"-shutdown", func(t *testing.T) {
			c, err := factory.CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, &contextCapturingConsumer{})
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
		})
		t.Run(string(mode)+"-lifecycle", func(t *testing.T) {
			next := &contextCapturingConsumer{}
			c, err := factory.CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, next)
			require.NoError(t, err)
			require.Equal(t, mode == ModeStrip, c.Capabilities().MutatesData)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			ctx := context.WithValue(context.Background(), ccpKey{}, "test-value")
			traces := generateLifecycleTestTraces()
			if !c.Capabilities().MutatesData {
				traces.MarkReadOnly()
			}
			require.NotPanics(t, func() { err = c.ConsumeTraces(ctx, traces) })
			require.NoError(t, err)
			require.Same(t, ctx, next.capturedCtx)
			require.Equal(t, 2, next.traces.SpanCount())
			require.NoError(t, c.Shutdown(context.Background()))
		})
	}
}

func generateLifecycleTestTraces() ptrace.Traces {
	traces := ptrace.NewTraces()
	rs := traces.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("resource", "R1")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	span := spans.AppendEmpty()
	span.Attributes().PutStr("test_attr", "value_1")
	span.SetName("test_span")
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-1 * time.Second)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	scoring := spans.AppendEmpty()
	scoring.SetName(schema.SpanScoring)
	scoring.Attributes().PutInt(schema.AttrScorerCount, 2)
	return traces
}

var _ processor.Factory = NewFactory()
