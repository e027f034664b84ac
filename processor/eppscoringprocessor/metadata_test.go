package eppscoringprocessor

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/scorelens/scorelens/processor/eppscoringprocessor/internal/metadata"
)

// internal/metadata and documentation.md are written by hand in mdatagen's
// shape, so nothing generates them from metadata.yaml: this test keeps the
// three in step with each other and with the reasons the processor counts.
func TestTelemetryMatchesMetadata(t *testing.T) {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	var md struct {
		Type      string `mapstructure:"type"`
		Telemetry struct {
			Metrics map[string]struct {
				Description string   `mapstructure:"description"`
				Unit        string   `mapstructure:"unit"`
				Attributes  []string `mapstructure:"attributes"`
			} `mapstructure:"metrics"`
		} `mapstructure:"telemetry"`
		Attributes map[string]struct {
			Enum []string `mapstructure:"enum"`
		} `mapstructure:"attributes"`
	}
	require.NoError(t, cm.Unmarshal(&md, confmap.WithIgnoreUnused()))
	require.Equal(t, metadata.Type.String(), md.Type)
	require.Equal(t, reasonNames[reasonNone+1:], md.Attributes["reason"].Enum, "metadata.yaml reason enum")
	require.Equal(t, renameReasonNames[:], md.Attributes["rename_reason"].Enum, "metadata.yaml rename_reason enum")

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	tb, err := metadata.NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	ctx := context.Background()
	tb.ProcessorEppscoringSpansChecked.Add(ctx, 1)
	tb.ProcessorEppscoringAttributesRemoved.Add(ctx, 1)
	tb.ProcessorEppscoringAttributesReported.Add(ctx, 1)
	tb.ProcessorEppscoringSpansRenamed.Add(ctx, 1)
	tb.ProcessorEppscoringSpansReported.Add(ctx, 1)

	doc, err := os.ReadFile("documentation.md")
	require.NoError(t, err)
	// One section per metric: "### <name>" up to the next "### ".
	sections := map[string]string{}
	for _, sec := range strings.Split(string(doc), "\n### ")[1:] {
		name, body, _ := strings.Cut(sec, "\n")
		sections[name] = body
	}
	var names []string
	for name, m := range md.Telemetry.Metrics {
		full := "otelcol_" + name
		names = append(names, full)
		got, err := tel.GetMetric(full)
		require.NoError(t, err, "metadata.yaml lists %s, the builder does not create it", full)
		assert.Equal(t, m.Unit, got.Unit, full)
		assert.Equal(t, m.Description+" [Alpha]", got.Description, full)
		sec := sections[full]
		want := []string{"\n" + m.Description + "\n", "| " + m.Unit + " | Sum | Int | true | Alpha |"}
		for _, a := range m.Attributes {
			want = append(want, "Str: ``"+strings.Join(md.Attributes[a].Enum, "``, ``")+"`` |")
		}
		for _, w := range want {
			assert.True(t, strings.Contains(sec, w), "documentation.md section %s lacks %q", full, w)
		}
	}
	assert.ElementsMatch(t, names, slices.Collect(maps.Keys(sections)), "documentation.md sections")
}
