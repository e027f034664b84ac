package eppscoringprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/scorelens/scorelens/processor/eppscoringprocessor/internal/metadata"
	"github.com/scorelens/scorelens/scheduler/schema"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id       component.ID
		expected *Config
		errMsg   string // substring of the validation error; empty when valid
	}{
		{id: component.NewID(metadata.Type), expected: createDefaultConfig()},
		{
			id: component.NewIDWithName(metadata.Type, "report"),
			expected: &Config{Mode: ModeReport, SpanNames: schema.UpstreamSpans(),
				ScopeNames: []string{schema.ScopeScheduler}, ScopeNamePrefixes: []string{schema.UpstreamScopePrefix},
				MaxScorerTypes: defaultMaxScorerTypes, Summary: true},
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			expected: &Config{
				Mode:              ModeStrip,
				SpanNames:         []string{schema.SpanPickEndpoints, "my_router_span"},
				SpanNamePrefixes:  []string{"my_scheduler."},
				ScopeNames:        []string{"example.com/my-epp/scheduler"},
				ScopeNamePrefixes: []string{"example.com/my-epp/plugins/", schema.ScopeUpstreamScheduling},
				AllowedKeys:       []string{"llm_d.epp.profile.name"},
				MaxScorerTypes:    16,
			},
		},
		{
			// Empty lists turn scoping by instrumentation scope off: span
			// names alone decide, as before scopes existed.
			id: component.NewIDWithName(metadata.Type, "names_only"),
			expected: &Config{Mode: ModeStrip, SpanNames: schema.UpstreamSpans(),
				ScopeNames: []string{}, ScopeNamePrefixes: []string{},
				MaxScorerTypes: defaultMaxScorerTypes, Summary: true},
		},
		{id: component.NewIDWithName(metadata.Type, "bad_mode"), errMsg: `mode: unknown mode "scrub"`},
		{id: component.NewIDWithName(metadata.Type, "empty_name"), errMsg: "span_names[1]: empty span name"},
		{id: component.NewIDWithName(metadata.Type, "empty_prefix"), errMsg: "span_name_prefixes[0]: empty prefix"},
		{id: component.NewIDWithName(metadata.Type, "negative_limit"), errMsg: "max_scorer_types: negative limit -1"},
		{id: component.NewIDWithName(metadata.Type, "zero_limit"), errMsg: "max_scorer_types: must be at least 1"},
		{id: component.NewIDWithName(metadata.Type, "huge_limit"), errMsg: "max_scorer_types: 100000 exceeds the cap"},
		{id: component.NewIDWithName(metadata.Type, "endpoint_allowed_key"), errMsg: "allowed_keys[0]: \"" + scoreFamily + "vllm-7d9f8b6c5d-x2k4p\" is a per-endpoint key"},
		{id: component.NewIDWithName(metadata.Type, "empty_scope_name"), errMsg: "scope_names[1]: empty scope name"},
		{id: component.NewIDWithName(metadata.Type, "empty_scope_prefix"), errMsg: "scope_name_prefixes[0]: empty prefix would put every span in scope"},
		{id: component.NewIDWithName(metadata.Type, "padded_scope_prefix"), errMsg: "scope_name_prefixes[0]: \" " + schema.UpstreamScopePrefix + "\" has leading or trailing whitespace"},
		{id: component.NewIDWithName(metadata.Type, "padded_name"), errMsg: "span_names[0]: \"" + schema.SpanPickEndpoints + " \" has leading or trailing whitespace"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.errMsg != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestValidateJoinsErrors(t *testing.T) {
	cfg := &Config{Mode: "", SpanNamePrefixes: []string{""}, ScopeNames: []string{" "}, MaxScorerTypes: -3}
	err := cfg.Validate()
	require.Error(t, err)
	for _, field := range []string{"mode:", "span_name_prefixes[0]:", "scope_names[0]:", "max_scorer_types:"} {
		assert.Contains(t, err.Error(), field)
	}
}
