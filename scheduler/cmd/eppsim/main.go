// Command eppsim schedules a simulated LLM workload on a simulated fleet of
// model servers with the instrumented scheduler, each request inside its own
// trace, so that the scoring spans can be seen end to end.
//
// Flags size the run (-requests, -endpoints, -rate, -duration, -seed); the
// standard OTEL_* environment configures tracing (OTEL_TRACES_EXPORTER =
// otlp | console | none, OTEL_EXPORTER_OTLP_ENDPOINT, ..._PROTOCOL = grpc |
// http/protobuf, OTEL_TRACES_SAMPLER and _ARG, OTEL_SERVICE_NAME). With
// console, stdout carries one JSON span per line; the summary and logs go to
// stderr. Spans are flushed before the summary is printed and before exit,
// on SIGINT and SIGTERM too; a lost span (a failed export, a flush cut short)
// makes eppsim exit 1 with one line saying how many and where they were going.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, errHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "eppsim:", err)
		os.Exit(2)
	}
	// A reader that goes away (eppsim | head) makes writes fail with EPIPE
	// instead of killing eppsim mid-export: spans the console exporter can
	// no longer write are counted as lost and said so on stderr, and the
	// OTLP exporters finish their flush whatever happened to stdout.
	signal.Ignore(syscall.SIGPIPE)
	normalizeEndpointEnv()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal a second one kills at once.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, cfg, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "eppsim:", err)
		os.Exit(1)
	}
}

// normalizeEndpointEnv spells a bare host:port OTLP endpoint (upstream EPP's
// documented form) as the http:// URL eppsim reads it as. eppsim passes the
// endpoint to the exporters explicitly, but they read the environment too,
// and log a misleading "parse url" error for a bare host:port.
func normalizeEndpointEnv() {
	for _, name := range []string{envEndpoint, envTracesEndpoint} {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" && !strings.Contains(v, "://") {
			_ = os.Setenv(name, "http://"+v)
		}
	}
}
