package main

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/e2e/internal/promhist"
)

func TestQuantileDisplay(t *testing.T) {
	inf := math.Inf(1)
	// 1µs, 1ms and 1s bounds; how many observations lie beyond 1s varies.
	row := func(beyond float64) otelcol.HistRow {
		return otelcol.HistRow{Buckets: []promhist.Bucket{{UpperBound: 1e-6, Count: 10}, {UpperBound: 1e-3, Count: 20}, {UpperBound: 1, Count: 30}, {UpperBound: inf, Count: 30 + beyond}}}
	}
	tests := []struct {
		name string
		q    float64
		row  otelcol.HistRow
		want string
	}{
		{"inside the first bucket: only its bound is known", 5e-7, row(0), "≤1µs"},
		{"on the first bound", 1e-6, row(0), "≤1µs"},
		{"interpolated", 5e-4, row(0), "500µs"},
		{"the largest bound, nothing beyond", 1, row(0), "1s"},
		{"the largest bound, observations beyond", 1, row(5), "≥1s"},
		{"a lone +Inf bucket", 0.25, otelcol.HistRow{Buckets: []promhist.Bucket{{UpperBound: inf, Count: 3}}}, "250ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.q, tt.row); got != tt.want {
				t.Errorf("quantile(%v) = %q, want %q", tt.q, got, tt.want)
			}
		})
	}
}

func TestPortUses(t *testing.T) {
	o := options{
		otlp: "127.0.0.1:4317", otlpHTTP: "127.0.0.1:4318",
		health: "http://127.0.0.1:13133/", metrics: "http://127.0.0.1:8889/metrics", telemetry: "http://127.0.0.1:8888/metrics",
	}
	uses, err := portUses(o)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, u := range uses {
		got = append(got, u.Port)
	}
	if want := []int{4317, 4318, 13133, 8889, 8888}; !slices.Equal(got, want) {
		t.Errorf("ports %v, want %v", got, want)
	}

	for _, tt := range []struct {
		name    string
		mutate  func(*options)
		wantErr string
	}{
		{"OTLP without port", func(o *options) { o.otlp = "127.0.0.1" }, "OTLP gRPC receiver address"},
		{"URL without port", func(o *options) { o.metrics = "http://127.0.0.1/metrics" }, "Prometheus exporter"},
		{"named port", func(o *options) { o.otlpHTTP = "127.0.0.1:http" }, "OTLP HTTP receiver port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := o
			tt.mutate(&bad)
			if _, err := portUses(bad); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("portUses = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}
