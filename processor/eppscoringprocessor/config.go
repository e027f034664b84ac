package eppscoringprocessor

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/confmap"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// Mode says what the processor does with what breaks the rule.
type Mode string

const (
	// ModeStrip removes offending attributes, renames offending scorer spans
	// and counts both.
	ModeStrip Mode = "strip"
	// ModeReport only counts: the data passes unchanged. Meant for a safe
	// rollout (watch the counters, then switch to strip).
	ModeReport Mode = "report"
)

const (
	defaultMaxScorerTypes = 64
	// maxMaxScorerTypes caps the set of distinct scorer types: it is the
	// cardinality the processor promises downstream.
	maxMaxScorerTypes = 4096
)

var _ confmap.Validator = (*Config)(nil)

// Config is the configuration of the eppscoring processor.
type Config struct {
	// Mode is strip (default) or report.
	Mode Mode `mapstructure:"mode"`

	// SpanNames are span names in scope of the value rule besides the schema
	// spans, which are always in scope. The default is upstream's scheduling
	// spans (schema.UpstreamSpans); setting the list replaces it.
	SpanNames []string `mapstructure:"span_names"`

	// SpanNamePrefixes puts every span whose name starts with one of them in
	// scope of the value rule.
	SpanNamePrefixes []string `mapstructure:"span_name_prefixes"`

	// ScopeNames are instrumentation scope names (InstrumentationScope.name
	// of a ScopeSpans) whose spans are all in scope of the value rule,
	// whatever their names. The default is this module's scheduler
	// (schema.ScopeScheduler); setting the list replaces it.
	ScopeNames []string `mapstructure:"scope_names"`

	// ScopeNamePrefixes puts every span whose instrumentation scope name
	// starts with one of them in scope of the value rule. The default is
	// upstream EPP's scope prefix (schema.UpstreamScopePrefix), so that every
	// span of upstream's scheduling path is in scope, including spans
	// upstream adds later; setting the list replaces it.
	ScopeNamePrefixes []string `mapstructure:"scope_name_prefixes"`

	// AllowedKeys are attribute keys allowed on schema spans besides the
	// schema's own. Their values still go through the value rule.
	AllowedKeys []string `mapstructure:"allowed_keys"`

	// MaxScorerTypes bounds the distinct scorer span names
	// (schema.ScorerSpanPrefix + type): scorer types first seen after the
	// limit is reached are renamed to schema.ScorerSpanOverflow.
	MaxScorerTypes int `mapstructure:"max_scorer_types"`

	// Summary puts schema.AttrRedactedCount on every span the processor
	// removed attributes from (mode strip only).
	Summary bool `mapstructure:"summary"`
}

func createDefaultConfig() *Config {
	return &Config{
		Mode:              ModeStrip,
		SpanNames:         schema.UpstreamSpans(),
		ScopeNames:        []string{schema.ScopeScheduler},
		ScopeNamePrefixes: []string{schema.UpstreamScopePrefix},
		MaxScorerTypes:    defaultMaxScorerTypes,
		Summary:           true,
	}
}

// Validate checks the configuration; each error names the field and why.
func (c *Config) Validate() error {
	var errs error
	switch c.Mode {
	case ModeStrip, ModeReport:
	default:
		errs = errors.Join(errs, fmt.Errorf("mode: unknown mode %q, want %q or %q", c.Mode, ModeStrip, ModeReport))
	}
	for i, n := range c.SpanNames {
		errs = errors.Join(errs, checkName("span_names", i, n, "empty span name"))
	}
	for i, p := range c.SpanNamePrefixes {
		errs = errors.Join(errs, checkName("span_name_prefixes", i, p, "empty prefix would put every span in scope"))
	}
	for i, n := range c.ScopeNames {
		errs = errors.Join(errs, checkName("scope_names", i, n, "empty scope name (to cover spans without a scope, list their span names)"))
	}
	for i, p := range c.ScopeNamePrefixes {
		errs = errors.Join(errs, checkName("scope_name_prefixes", i, p, "empty prefix would put every span in scope"))
	}
	for i, k := range c.AllowedKeys {
		if err := checkName("allowed_keys", i, k, "empty key"); err != nil {
			errs = errors.Join(errs, err)
		} else if isEndpointKey(k) {
			errs = errors.Join(errs, fmt.Errorf("allowed_keys[%d]: %q is a per-endpoint key, which the rule forbids", i, k))
		}
	}
	switch {
	case c.MaxScorerTypes < 0:
		errs = errors.Join(errs, fmt.Errorf("max_scorer_types: negative limit %d", c.MaxScorerTypes))
	case c.MaxScorerTypes == 0:
		errs = errors.Join(errs, errors.New("max_scorer_types: must be at least 1 (every scorer span would lose its type)"))
	case c.MaxScorerTypes > maxMaxScorerTypes:
		errs = errors.Join(errs, fmt.Errorf("max_scorer_types: %d exceeds the cap of %d", c.MaxScorerTypes, maxMaxScorerTypes))
	}
	return errs
}

// checkName rejects an empty list entry, and one with surrounding
// whitespace: names and keys match exactly, so it would never match.
func checkName(field string, i int, s, empty string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%s[%d]: %s", field, i, empty)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%s[%d]: %q has leading or trailing whitespace and would never match", field, i, s)
	}
	return nil
}
