package eppscoringconnector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	full := createDefaultConfig()
	full.MetricsFlushInterval = 30 * time.Second
	full.AggregationTemporality = temporalityDelta
	full.AggregationCardinalityLimit = 500
	full.Histogram.Explicit = &ExplicitHistogramConfig{Buckets: []time.Duration{
		50 * time.Microsecond, 100 * time.Microsecond, time.Millisecond, 10 * time.Millisecond,
	}}
	full.Exemplars = ExemplarsConfig{Enabled: true, MaxPerDataPoint: 3}
	full.ResourceMetricsKeyAttributes = []string{"service.name", "k8s.namespace.name"}
	full.MetricsExpiration = 10 * time.Minute
	full.SeriesExpiration = 5 * time.Minute
	full.ParentJoin = ParentJoinConfig{Timeout: 3 * time.Second, MaxPending: 2000}
	full.EnableMetricsSamplingMethod = false
	full.Sampling = SamplingConfig{DefaultRatio: 0.5, RatioByService: map[string]float64{"epp": 0.1}}
	allAttrs := createDefaultConfig()
	allAttrs.ResourceMetricsKeyAttributes = []string{}
	expo := createDefaultConfig()
	expo.AggregationTemporality = "cumulative"
	expo.Histogram.Exponential = &ExponentialHistogramConfig{MaxSize: 80}

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string // the field the error must name
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "full"), want: full},
		{id: component.NewIDWithName(metadata.Type, "exponential"), want: expo},
		{id: component.NewIDWithName(metadata.Type, "all_resource_attributes"), want: allAttrs},
		{id: component.NewIDWithName(metadata.Type, "bad_default_ratio"), wantErr: "sampling.default_ratio:"},
		{id: component.NewIDWithName(metadata.Type, "bad_service_ratio"), wantErr: "sampling.ratio_by_service:"},
		{id: component.NewIDWithName(metadata.Type, "bad_flush_interval"), wantErr: "metrics_flush_interval:"},
		{id: component.NewIDWithName(metadata.Type, "bad_temporality"), wantErr: "aggregation_temporality:"},
		{id: component.NewIDWithName(metadata.Type, "bad_cardinality"), wantErr: "aggregation_cardinality_limit:"},
		{id: component.NewIDWithName(metadata.Type, "both_histograms"), wantErr: "histogram:"},
		{id: component.NewIDWithName(metadata.Type, "bad_buckets"), wantErr: "histogram.explicit.buckets:"},
		{id: component.NewIDWithName(metadata.Type, "bad_max_size"), wantErr: "histogram.exponential.max_size:"},
		{id: component.NewIDWithName(metadata.Type, "bad_exemplars"), wantErr: "exemplars.max_per_data_point:"},
		{id: component.NewIDWithName(metadata.Type, "bad_key_attributes"), wantErr: "resource_metrics_key_attributes:"},
		{id: component.NewIDWithName(metadata.Type, "bad_expiration"), wantErr: "series_expiration:"},
		{id: component.NewIDWithName(metadata.Type, "bad_join"), wantErr: "parent_join.max_pending:"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestBadJoinNamesBothFields(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ParentJoin = ParentJoinConfig{}
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "parent_join.timeout:")
	assert.Contains(t, err.Error(), "parent_join.max_pending:")
}

func TestDefaultBucketsContainUpstreams(t *testing.T) {
	// Upstream EPP's plugin-duration buckets, so the two line up.
	bounds := createDefaultConfig().bucketBounds()
	for _, b := range []float64{0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1} {
		assert.Contains(t, bounds, b)
	}
	assert.Equal(t, 1e-6, bounds[0], "in-process scorers take a few microseconds")
}

// TestREADMEConfigExample keeps the README's configuration example valid:
// it is what operators copy.
func TestREADMEConfigExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(readme), "```yaml\n")
	require.True(t, ok, "README has no yaml block")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(block), 0o600))
	cm, err := confmaptest.LoadConf(path)
	require.NoError(t, err)
	sub, err := cm.Sub("connectors::" + metadata.Type.String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	// The example spells out the defaults.
	want := createDefaultConfig()
	want.Histogram.Explicit = &ExplicitHistogramConfig{Buckets: defaultBuckets}
	want.Sampling.RatioByService = map[string]float64{}
	assert.Equal(t, want, cfg)
}
