package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
)

// TestShippedConfigsValidate runs `otelcol-dist validate` on the default
// config and every test config, as a user would before deploying them.
func TestShippedConfigsValidate(t *testing.T) {
	bin := collectorBinary(t)
	configs, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	configs = append([]string{"../otelcol-dist/config.yaml"}, configs...)
	if len(configs) < 2 {
		t.Fatalf("found only %v", configs)
	}
	for _, cfg := range configs {
		t.Run(filepath.Base(cfg), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := otelcol.Validate(ctx, bin, cfg, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestValidateRejectsBadComponentConfig proves validate reaches the eppscoring
// components' own Validate: a bad value fails it, naming the field.
func TestValidateRejectsBadComponentConfig(t *testing.T) {
	bin := collectorBinary(t)
	base, err := os.ReadFile("../otelcol-dist/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to, wantErr string
	}{
		{"processor mode", "mode: strip", "mode: scrub", "mode"},
		{"connector flush interval", "metrics_flush_interval: 2s", "metrics_flush_interval: -1s", "metrics_flush_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(base), tt.from) {
				t.Fatalf("default config lacks %q", tt.from)
			}
			cfg := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(cfg, []byte(strings.Replace(string(base), tt.from, tt.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := otelcol.Validate(ctx, bin, cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validate %s: %v; want an error naming %q", tt.to, err, tt.wantErr)
			}
		})
	}
}
