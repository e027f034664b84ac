package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// maxEndpoints matches the prefix-cache scorer's default number of tracked
// endpoints: a bigger fleet would make it forget endpoints mid-run.
const maxEndpoints = 4096

// config is what the flags ask for.
type config struct {
	requests  int           // 0: unlimited, bounded by duration
	endpoints int           // fleet size
	rate      float64       // requests per second of wall time; 0: as fast as possible
	duration  time.Duration // wall-time limit; 0: none
	seed      uint64
	disagg    bool // prefill/decode disaggregation: two profiles per request
}

// errHelp is returned for -h: usage was printed, nothing failed.
var errHelp = flag.ErrHelp

// parseFlags reads the command line. Errors name the flag and its value.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("eppsim", flag.ContinueOnError)
	// The flag package's own printing is off: errors are returned to be
	// printed once, and usage is printed for -h only.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.IntVar(&c.requests, "requests", 1000, "number of requests to schedule; 0 for no limit (then -duration or a signal ends the run)")
	fs.IntVar(&c.endpoints, "endpoints", 16, fmt.Sprintf("number of model-server endpoints in the simulated fleet (1..%d)", maxEndpoints))
	fs.Float64Var(&c.rate, "rate", 0, "requests per second of wall time; 0 for as fast as possible (the simulated fleet is equally busy at any rate)")
	fs.DurationVar(&c.duration, "duration", 0, "maximum wall time of the run; 0 for no limit")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the simulation: the same seed and flags give the same requests and picks")
	fs.BoolVar(&c.disagg, "disagg", false, "prefill/decode disaggregation: a third of each model's endpoints prefill, the decode profile runs first and the prefill profile when the uncached prompt is long (two scoring chains per trace)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "Usage: eppsim [flags]\n\nSchedules a simulated workload on a simulated fleet and traces every scoring chain.\n"+
				"Tracing is configured from the OTEL_* environment (OTEL_TRACES_EXPORTER=otlp|console|none).\n\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.validate()
}

func (c config) validate() error {
	var errs []error
	bad := func(name, value, want string) {
		errs = append(errs, fmt.Errorf("invalid value %q for flag -%s: %s", value, name, want))
	}
	if c.requests < 0 {
		bad("requests", strconv.Itoa(c.requests), "want 0 (no limit) or a positive count")
	}
	if c.endpoints < 1 || c.endpoints > maxEndpoints {
		bad("endpoints", strconv.Itoa(c.endpoints), fmt.Sprintf("want 1..%d", maxEndpoints))
	}
	if c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0) {
		bad("rate", strconv.FormatFloat(c.rate, 'g', -1, 64), "want 0 (as fast as possible) or a positive finite rate")
	}
	if c.duration < 0 {
		bad("duration", c.duration.String(), "want 0 (no limit) or a positive duration")
	}
	return errors.Join(errs...)
}

// Environment variables eppsim reads, as the OpenTelemetry SDK
// specification names them.
const (
	envSDKDisabled       = "OTEL_SDK_DISABLED"
	envTracesExporter    = "OTEL_TRACES_EXPORTER"
	envEndpoint          = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint    = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol          = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol    = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envInsecure          = "OTEL_EXPORTER_OTLP_INSECURE"
	envTracesInsecure    = "OTEL_EXPORTER_OTLP_TRACES_INSECURE"
	envTracesSampler     = "OTEL_TRACES_SAMPLER"
	envTracesSamplerArg  = "OTEL_TRACES_SAMPLER_ARG"
	envServiceName       = "OTEL_SERVICE_NAME"
	defaultServiceName   = "eppsim"
	defaultSampler       = samplerParentOn
	defaultGRPCEndpoint  = "localhost:4317"
	defaultHTTPEndpoint  = "http://localhost:4318"
	otlpHTTPTracesPath   = "/v1/traces"
	exporterOTLP         = "otlp"
	exporterConsole      = "console"
	exporterNone         = "none"
	protocolGRPC         = "grpc"
	protocolHTTPProtobuf = "http/protobuf"
)

// OTEL_TRACES_SAMPLER values.
const (
	samplerOn          = "always_on"
	samplerOff         = "always_off"
	samplerRatio       = "traceidratio"
	samplerParentOn    = "parentbased_always_on"
	samplerParentOff   = "parentbased_always_off"
	samplerParentRatio = "parentbased_traceidratio"
)

// tracingConfig is the tracing setup the environment asks for.
type tracingConfig struct {
	exporter string // exporterOTLP, exporterConsole or exporterNone
	// OTLP only.
	protocol string // protocolGRPC or protocolHTTPProtobuf
	endpoint string // gRPC: host:port; HTTP: the full URL spans are posted to
	insecure bool   // plaintext (no TLS)

	sampler     string  // a name of OTEL_TRACES_SAMPLER
	samplerArg  float64 // the ratio of the traceidratio samplers
	serviceName string
}

// env returns a variable's value; the specification treats empty as unset.
type env func(string) string

func (e env) get(name string) (string, bool) {
	v := strings.TrimSpace(e(name))
	return v, v != ""
}

// first returns the first of the variables that is set, and its name.
func (e env) first(names ...string) (value, name string, ok bool) {
	for _, n := range names {
		if v, ok := e.get(n); ok {
			return v, n, true
		}
	}
	return "", "", false
}

func badEnv(name, value, want string) error {
	return fmt.Errorf("invalid value %q for %s: %s", value, name, want)
}

// tracingFromEnv reads the tracing setup. Errors name the variable and value.
func tracingFromEnv(getenv func(string) string) (tracingConfig, error) {
	e := env(getenv)
	tc := tracingConfig{exporter: exporterOTLP, sampler: defaultSampler, samplerArg: 1, serviceName: defaultServiceName}

	if v, ok := e.get(envSDKDisabled); ok {
		disabled, err := strconv.ParseBool(v)
		if err != nil {
			return tc, badEnv(envSDKDisabled, v, "want true or false")
		}
		if disabled {
			tc.exporter = exporterNone
			return tc, nil
		}
	}
	if v, ok := e.get(envTracesExporter); ok {
		switch strings.ToLower(v) {
		case exporterOTLP, exporterConsole, exporterNone:
			tc.exporter = strings.ToLower(v)
		default:
			return tc, badEnv(envTracesExporter, v, "want otlp, console or none")
		}
	}
	if v, ok := e.get(envServiceName); ok {
		tc.serviceName = v
	}
	if err := tc.readSampler(e); err != nil {
		return tc, err
	}
	if tc.exporter == exporterOTLP {
		if err := tc.readOTLP(e); err != nil {
			return tc, err
		}
	}
	return tc, nil
}

func (tc *tracingConfig) readSampler(e env) error {
	if v, ok := e.get(envTracesSampler); ok {
		switch v {
		case samplerOn, samplerOff, samplerRatio, samplerParentOn, samplerParentOff, samplerParentRatio:
			tc.sampler = v
		default:
			return badEnv(envTracesSampler, v, "want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio")
		}
	}
	// The argument only means something to the ratio samplers; elsewhere
	// the specification has it ignored.
	if tc.sampler != samplerRatio && tc.sampler != samplerParentRatio {
		return nil
	}
	if v, ok := e.get(envTracesSamplerArg); ok {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return badEnv(envTracesSamplerArg, v, "want a ratio in [0, 1]")
		}
		tc.samplerArg = r
	}
	return nil
}

func (tc *tracingConfig) readOTLP(e env) error {
	tc.protocol = protocolGRPC
	if v, name, ok := e.first(envTracesProtocol, envProtocol); ok {
		switch v {
		case protocolGRPC, protocolHTTPProtobuf:
			tc.protocol = v
		default:
			return badEnv(name, v, "want grpc or http/protobuf")
		}
	}

	raw, name, set := e.first(envTracesEndpoint, envEndpoint)
	if !set {
		raw = defaultGRPCEndpoint
		if tc.protocol == protocolHTTPProtobuf {
			raw = defaultHTTPEndpoint
		}
	}
	// A bare host:port (upstream EPP's documented form, "localhost:4317")
	// means a plaintext collector; url.Parse would read "localhost" as a scheme.
	full := raw
	if !strings.Contains(raw, "://") {
		full = "http://" + raw
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return badEnv(name, raw, "want host:port or an http:// or https:// URL")
	}
	tc.insecure = u.Scheme == "http"
	if v, name, ok := e.first(envTracesInsecure, envInsecure); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badEnv(name, v, "want true or false")
		}
		tc.insecure = b
	}

	if tc.protocol == protocolGRPC {
		tc.endpoint = u.Host
		return nil
	}
	// HTTP: the signal-specific variable is the URL as is; the generic one
	// is a base URL that the traces path is appended to.
	switch {
	case name == envTracesEndpoint && u.Path == "":
		u.Path = "/"
	case name != envTracesEndpoint:
		u.Path = path.Join("/", u.Path, otlpHTTPTracesPath)
	}
	tc.endpoint = u.String()
	return nil
}
