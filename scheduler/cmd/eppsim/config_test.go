package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr []string // substrings of the error: the flag and the value
	}{
		{name: "defaults", want: config{requests: 1000, endpoints: 16, seed: 1}},
		{
			name: "all set",
			args: []string{"-requests", "20", "-endpoints", "5", "-rate", "12.5", "-duration", "30s", "-seed", "99"},
			want: config{requests: 20, endpoints: 5, rate: 12.5, duration: 30 * time.Second, seed: 99},
		},
		{name: "unlimited", args: []string{"-requests", "0", "-duration", "1m"}, want: config{endpoints: 16, duration: time.Minute, seed: 1}},
		{name: "negative requests", args: []string{"-requests", "-3"}, wantErr: []string{"-requests", `"-3"`}},
		{name: "zero endpoints", args: []string{"-endpoints", "0"}, wantErr: []string{"-endpoints", `"0"`}},
		{name: "too many endpoints", args: []string{"-endpoints", "5000"}, wantErr: []string{"-endpoints", `"5000"`}},
		{name: "negative rate", args: []string{"-rate", "-1"}, wantErr: []string{"-rate", `"-1"`}},
		{name: "NaN rate", args: []string{"-rate", "NaN"}, wantErr: []string{"-rate", `"NaN"`}},
		{name: "infinite rate", args: []string{"-rate", "+Inf"}, wantErr: []string{"-rate", `"+Inf"`}},
		{name: "negative duration", args: []string{"-duration", "-5s"}, wantErr: []string{"-duration", `"-5s"`}},
		{name: "not a number", args: []string{"-requests", "many"}, wantErr: []string{"-requests", `"many"`}},
		{name: "bad duration", args: []string{"-duration", "10"}, wantErr: []string{"-duration", `"10"`}},
		{name: "negative seed", args: []string{"-seed", "-1"}, wantErr: []string{"-seed", `"-1"`}},
		{name: "unknown flag", args: []string{"-rps", "3"}, wantErr: []string{"-rps"}},
		{name: "stray argument", args: []string{"20"}, wantErr: []string{`"20"`}},
		{name: "two bad flags", args: []string{"-requests", "-1", "-rate", "-2"}, wantErr: []string{"-requests", "-rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			got, err := parseFlags(tt.args, &stderr)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %v as %+v", tt.args, got)
			}
			// The flag package prints its own parse errors; ours are returned.
			msg := err.Error() + stderr.String()
			for _, w := range tt.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %s", msg, w)
				}
			}
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var stderr strings.Builder
	if _, err := parseFlags([]string{"-h"}, &stderr); !errors.Is(err, errHelp) {
		t.Fatalf("error %v, want errHelp", err)
	}
	if !strings.Contains(stderr.String(), "-requests") {
		t.Errorf("usage %q does not list the flags", stderr.String())
	}
}

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestTracingFromEnv(t *testing.T) {
	def := tracingConfig{
		exporter: exporterOTLP, protocol: protocolGRPC, endpoint: "localhost:4317", insecure: true,
		sampler: samplerParentOn, samplerArg: 1, serviceName: defaultServiceName,
	}
	with := func(f func(*tracingConfig)) tracingConfig { c := def; f(&c); return c }
	tests := []struct {
		name string
		env  map[string]string
		want tracingConfig
	}{
		{"nothing set", nil, def},
		{"empty values are unset", map[string]string{envTracesExporter: " ", envServiceName: ""}, def},
		{"console", map[string]string{envTracesExporter: "console"}, tracingConfig{
			exporter: exporterConsole, sampler: samplerParentOn, samplerArg: 1, serviceName: defaultServiceName,
		}},
		{"none", map[string]string{envTracesExporter: "none"}, tracingConfig{
			exporter: exporterNone, sampler: samplerParentOn, samplerArg: 1, serviceName: defaultServiceName,
		}},
		{"sdk disabled wins", map[string]string{envSDKDisabled: "true", envTracesExporter: "console", envTracesSampler: "bogus"}, tracingConfig{
			exporter: exporterNone, sampler: samplerParentOn, samplerArg: 1, serviceName: defaultServiceName,
		}},
		{"service name", map[string]string{envServiceName: "llm-d-epp"}, with(func(c *tracingConfig) { c.serviceName = "llm-d-epp" })},
		{"bare endpoint is plaintext", map[string]string{envEndpoint: "otel-collector.monitoring:4317"},
			with(func(c *tracingConfig) { c.endpoint = "otel-collector.monitoring:4317" })},
		{"http endpoint is plaintext", map[string]string{envEndpoint: "http://collector:4317"},
			with(func(c *tracingConfig) { c.endpoint = "collector:4317" })},
		{"https endpoint is TLS", map[string]string{envEndpoint: "https://collector:4317"},
			with(func(c *tracingConfig) { c.endpoint, c.insecure = "collector:4317", false })},
		{"insecure overrides the scheme", map[string]string{envEndpoint: "https://collector:4317", envInsecure: "true"},
			with(func(c *tracingConfig) { c.endpoint = "collector:4317" })},
		{"traces insecure wins", map[string]string{envEndpoint: "collector:4317", envInsecure: "true", envTracesInsecure: "false"},
			with(func(c *tracingConfig) { c.endpoint, c.insecure = "collector:4317", false })},
		{"traces endpoint wins", map[string]string{envEndpoint: "a:1", envTracesEndpoint: "b:2"},
			with(func(c *tracingConfig) { c.endpoint = "b:2" })},
		{"http default", map[string]string{envProtocol: "http/protobuf"},
			with(func(c *tracingConfig) {
				c.protocol, c.endpoint = protocolHTTPProtobuf, "http://localhost:4318/v1/traces"
			})},
		{"http base endpoint gets the traces path", map[string]string{envProtocol: "http/protobuf", envEndpoint: "https://otlp.example.com/otlp"},
			with(func(c *tracingConfig) {
				c.protocol, c.endpoint, c.insecure = protocolHTTPProtobuf, "https://otlp.example.com/otlp/v1/traces", false
			})},
		{"http bare endpoint", map[string]string{envProtocol: "http/protobuf", envEndpoint: "localhost:4318"},
			with(func(c *tracingConfig) {
				c.protocol, c.endpoint = protocolHTTPProtobuf, "http://localhost:4318/v1/traces"
			})},
		{"http traces endpoint as is", map[string]string{envTracesProtocol: "http/protobuf", envProtocol: "grpc", envTracesEndpoint: "http://c:4318/custom"},
			with(func(c *tracingConfig) { c.protocol, c.endpoint = protocolHTTPProtobuf, "http://c:4318/custom" })},
		{"http traces endpoint without path", map[string]string{envProtocol: "http/protobuf", envTracesEndpoint: "http://c:4318"},
			with(func(c *tracingConfig) { c.protocol, c.endpoint = protocolHTTPProtobuf, "http://c:4318/" })},
		{"ratio sampler", map[string]string{envTracesSampler: "parentbased_traceidratio", envTracesSamplerArg: "0.1"},
			with(func(c *tracingConfig) { c.sampler, c.samplerArg = samplerParentRatio, 0.1 })},
		{"ratio without arg samples all", map[string]string{envTracesSampler: "traceidratio"},
			with(func(c *tracingConfig) { c.sampler = samplerRatio })},
		{"arg ignored by other samplers", map[string]string{envTracesSampler: "always_off", envTracesSamplerArg: "lots"},
			with(func(c *tracingConfig) { c.sampler = samplerOff })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tracingFromEnv(mapEnv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestTracingFromEnvRejects(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		variable string
		value    string
	}{
		{"unknown exporter", map[string]string{envTracesExporter: "jaeger"}, envTracesExporter, "jaeger"},
		{"exporter list", map[string]string{envTracesExporter: "otlp,console"}, envTracesExporter, "otlp,console"},
		{"unknown protocol", map[string]string{envProtocol: "http/json"}, envProtocol, "http/json"},
		{"unknown traces protocol", map[string]string{envTracesProtocol: "udp"}, envTracesProtocol, "udp"},
		{"unknown sampler", map[string]string{envTracesSampler: "jaeger_remote"}, envTracesSampler, "jaeger_remote"},
		{"ratio not a number", map[string]string{envTracesSampler: "traceidratio", envTracesSamplerArg: "half"}, envTracesSamplerArg, "half"},
		{"ratio above one", map[string]string{envTracesSampler: "parentbased_traceidratio", envTracesSamplerArg: "1.5"}, envTracesSamplerArg, "1.5"},
		{"ratio negative", map[string]string{envTracesSampler: "traceidratio", envTracesSamplerArg: "-0.1"}, envTracesSamplerArg, "-0.1"},
		{"endpoint scheme", map[string]string{envEndpoint: "grpc://collector:4317"}, envEndpoint, "grpc://collector:4317"},
		{"endpoint without host", map[string]string{envTracesEndpoint: "http://"}, envTracesEndpoint, "http://"},
		{"insecure not a bool", map[string]string{envInsecure: "maybe"}, envInsecure, "maybe"},
		{"sdk disabled not a bool", map[string]string{envSDKDisabled: "yes please"}, envSDKDisabled, "yes please"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tracingFromEnv(mapEnv(tt.env))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.variable) || !strings.Contains(err.Error(), `"`+tt.value+`"`) {
				t.Errorf("error %q does not name %s and %q", err, tt.variable, tt.value)
			}
		})
	}
}

func TestNewSampler(t *testing.T) {
	tests := []struct {
		sampler string
		arg     float64
		want    string // the SDK's description of the sampler
		wantTh  string // the threshold it writes
	}{
		{samplerOn, 1, "AlwaysOnSampler", ""},
		{samplerOff, 1, "AlwaysOffSampler", ""},
		{samplerRatio, 0.25, "TraceIDRatioBased{0.25}", "c"},
		{samplerParentOn, 1, "ParentBased{root:AlwaysOnSampler", ""},
		{samplerParentOff, 1, "ParentBased{root:AlwaysOffSampler", ""},
		{samplerParentRatio, 0.1, "ParentBased{root:TraceIDRatioBased{0.1}", "e666"},
	}
	for _, tt := range tests {
		t.Run(tt.sampler, func(t *testing.T) {
			s, th, err := newSampler(tracingConfig{sampler: tt.sampler, samplerArg: tt.arg})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Description(); !strings.HasPrefix(got, tt.want) || th != tt.wantTh {
				t.Errorf("sampler %q writing th %q, want %q writing %q", got, th, tt.want, tt.wantTh)
			}
		})
	}
}

func TestNewTracerProviderPerExporter(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantSDK bool
	}{
		{"none is no SDK", map[string]string{envTracesExporter: "none"}, false},
		{"console", map[string]string{envTracesExporter: "console"}, true},
		// Exporters connect lazily: building them needs no collector.
		{"otlp grpc", nil, true},
		{"otlp http", map[string]string{envProtocol: "http/protobuf"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := tracingFromEnv(mapEnv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := newTracerProvider(context.Background(), tc, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if _, isSDK := tr.provider.(*sdktrace.TracerProvider); isSDK != tt.wantSDK {
				t.Errorf("provider %T, want SDK %v", tr.provider, tt.wantSDK)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			// Nothing was exported, so shutting down reaches no collector.
			if err := tr.flush(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
}
