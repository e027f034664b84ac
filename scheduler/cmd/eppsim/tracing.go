package main

import (
	"context"
	"fmt"
	"io"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// newTracerProvider builds the provider tc asks for and the function that
// flushes and stops it. With the none exporter it is a no-op provider: no
// SDK, so the scheduler's scoring path does no tracing work at all.
// Console spans go to stdout, one JSON object per line.
func newTracerProvider(ctx context.Context, tc tracingConfig, stdout io.Writer) (trace.TracerProvider, func(context.Context) error, error) {
	if tc.exporter == exporterNone {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	exp, err := newExporter(ctx, tc, stdout)
	if err != nil {
		return nil, nil, err
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(tc.serviceName)),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		// Blocking: at full speed eppsim ends spans faster than an exporter
		// drains them, and the SDK's default is to drop the overflow without
		// a word. A simulator that loses spans silently would make every
		// count downstream lie, so it slows down instead.
		sdktrace.WithBatcher(exp, sdktrace.WithBlocking()),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(newSampler(tc)),
	)
	return tp, tp.Shutdown, nil
}

// destination describes where spans go, for messages.
func (tc tracingConfig) destination() string {
	switch tc.exporter {
	case exporterOTLP:
		return "OTLP " + tc.protocol + " " + tc.endpoint
	case exporterConsole:
		return "stdout"
	}
	return "nowhere"
}

func newExporter(ctx context.Context, tc tracingConfig, stdout io.Writer) (sdktrace.SpanExporter, error) {
	switch {
	case tc.exporter == exporterConsole:
		// Not pretty-printed: the encoder writes one span per line.
		exp, err := stdouttrace.New(stdouttrace.WithWriter(stdout))
		if err != nil {
			return nil, fmt.Errorf("console span exporter: %w", err)
		}
		return exp, nil
	case tc.protocol == protocolHTTPProtobuf:
		// Explicit options win over the exporter's own reading of the
		// environment, which misreads a bare host:port; headers, timeout,
		// compression and certificates still come from there.
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(tc.endpoint)}
		if tc.insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("OTLP/HTTP span exporter for %s: %w", tc.endpoint, err)
		}
		return exp, nil
	default:
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(tc.endpoint)}
		if tc.insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("OTLP/gRPC span exporter for %s: %w", tc.endpoint, err)
		}
		return exp, nil
	}
}

func newSampler(tc tracingConfig) sdktrace.Sampler {
	switch tc.sampler {
	case samplerOn:
		return sdktrace.AlwaysSample()
	case samplerOff:
		return sdktrace.NeverSample()
	case samplerRatio:
		return sdktrace.TraceIDRatioBased(tc.samplerArg)
	case samplerParentOff:
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case samplerParentRatio:
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(tc.samplerArg))
	default: // samplerParentOn; tracingFromEnv let no other value through
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}
