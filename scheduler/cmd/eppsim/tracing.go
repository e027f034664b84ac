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

	"github.com/scorelens/scorelens/scheduler/cmd/eppsim/internal/sampling"
)

// tracing is the tracer provider a run uses, and what it counts.
type tracing struct {
	provider trace.TracerProvider
	acct     *accounting
	// shutdown flushes and stops the provider; nil without an SDK.
	shutdown func(context.Context) error
	// threshold is what the ratio sampler writes as ot=th ("" for none).
	threshold string
}

// newTracerProvider builds the provider tc asks for. With the none exporter
// it is a no-op provider: no SDK, so the scheduler's scoring path does no
// tracing work at all. Console spans go to stdout, one JSON object per line.
// The exporter, the batcher and the sampler are wrapped to count (see
// accounting): spans handed to the exporter against those it exported, and
// the scoring chains started and sampled.
func newTracerProvider(ctx context.Context, tc tracingConfig, stdout io.Writer) (*tracing, error) {
	t := &tracing{acct: newAccounting(tc.destination())}
	if tc.exporter == exporterNone {
		t.provider = noop.NewTracerProvider()
		return t, nil
	}
	exp, err := newExporter(ctx, tc, stdout)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(tc.serviceName)),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	sampler, threshold, err := newSampler(tc)
	if err != nil {
		return nil, err
	}
	t.threshold = threshold
	// Blocking: at full speed eppsim ends spans faster than an exporter
	// drains them, and the SDK's default is to drop the overflow without a
	// word. A simulator that loses spans silently would make every count
	// downstream lie, so it slows down instead.
	bsp := sdktrace.NewBatchSpanProcessor(countingExporter{SpanExporter: exp, acct: t.acct}, sdktrace.WithBlocking())
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(countingProcessor{SpanProcessor: bsp, acct: t.acct}),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(countingSampler{Sampler: sampler, acct: t.acct}),
	)
	t.provider, t.shutdown = tp, tp.Shutdown
	return t, nil
}

// flush exports what is left and stops the provider, then returns the
// loss: nil when every span that ended was exported.
func (t *tracing) flush(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	return t.acct.loss(t.shutdown(ctx))
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

// newSampler returns the sampler tc names and, for the ratio samplers, the
// threshold they write ("" when the ratio is 0 and nothing is sampled).
// The ratio samplers are the specification's consistent TraceIdRatioBased
// (package sampling), not the SDK's, which writes no threshold.
func newSampler(tc tracingConfig) (sdktrace.Sampler, string, error) {
	switch tc.sampler {
	case samplerOn:
		return sdktrace.AlwaysSample(), "", nil
	case samplerOff:
		return sdktrace.NeverSample(), "", nil
	case samplerParentOff:
		return sdktrace.ParentBased(sdktrace.NeverSample()), "", nil
	case samplerRatio, samplerParentRatio:
		s, err := sampling.TraceIDRatioBased(tc.samplerArg)
		if err != nil {
			return nil, "", fmt.Errorf("sampler %s: %w", tc.sampler, err)
		}
		th := ""
		if t, ok := s.Threshold(); ok {
			th = t.String()
		}
		if tc.sampler == samplerRatio {
			return s, th, nil
		}
		return sdktrace.ParentBased(s), th, nil
	default: // samplerParentOn; tracingFromEnv let no other value through
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), "", nil
	}
}
