// Command costbench is `make bench-collector`: it runs built collectors
// three ways on the same generated traffic (a realistic mix, a fifth scoring
// spans) and prints, per million spans, the CPU seconds the collector
// process used (from /proc) and its peak RSS, with the ratios:
//
//   - floor: otelcol-dist as a bare OTLP -> batch -> OTLP pass-through;
//   - eppscoring: otelcol-dist's default pipeline (memory_limiter, eppscoring
//     processor, batch, eppscoring connector -> Prometheus);
//   - contrib: the bench-only collector with contrib's equivalent (memory_limiter,
//     redaction processor, batch, spanmetrics connector -> Prometheus),
//     configured as in bench/processor_bench_test.go and connector_bench_test.go.
//
// Every collector exports its traces over OTLP to the same local sink; a
// run ends when the sink holds every span. The configs are generated here
// from the schema package (no key typed twice) into the -out folder.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/scorelens/scorelens/e2e/internal/loadgen"
	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

func main() {
	dist := flag.String("collector", "otelcol-dist/otelcol-dist", "otelcol-dist binary")
	contrib := flag.String("contrib", ".tools/otelcol-bench/otelcol-bench", "bench-only collector with contrib's components")
	spans := flag.Int64("spans", 1_000_000, "spans sent to each collector per round")
	rounds := flag.Int("rounds", 2, "rounds; each runs the three in turn, the least CPU of the rounds counts")
	dir := flag.String("out", "out/bench-collector", "folder for the generated configs and the logs")
	flag.Parse()
	if err := run(*dist, *contrib, *dir, *spans, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench-collector:", err)
		os.Exit(1)
	}
}

type variant struct {
	id, name, bin, config string
	cpu, peakMiB          []float64
}

func run(dist, contrib, dir string, spans int64, rounds int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	loadStart := loadgen.LoadAvg()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	sink, err := loadgen.StartSink(false)
	if err != nil {
		return err
	}
	defer sink.Stop()

	write := func(name, text string) (string, error) {
		p := filepath.Join(dir, name+".yaml")
		return p, os.WriteFile(p, []byte(text), 0o644)
	}
	floorCfg, err := write("floor", config(floorPipeline))
	if err != nil {
		return err
	}
	oursCfg, err := write("eppscoring", config(oursPipeline))
	if err != nil {
		return err
	}
	// contrib's spanmetrics gets the very buckets eppscoring emits: read
	// them from a short eppscoring run's scrape.
	buckets, err := eppscoringBuckets(ctx, dist, oursCfg, dir, sink)
	if err != nil {
		return err
	}
	contribCfg, err := write("contrib", config(contribPipeline(buckets)))
	if err != nil {
		return err
	}
	vs := []*variant{
		{id: "floor", name: "floor (otlp -> batch -> otlp)", bin: dist, config: floorCfg},
		{id: "eppscoring", name: "eppscoring (otelcol-dist default pipeline)", bin: dist, config: oursCfg},
		{id: "contrib", name: "contrib (redaction + spanmetrics)", bin: contrib, config: contribCfg},
	}
	var next uint64 = 1
	for r := range rounds {
		for _, v := range vs {
			logs := filepath.Join(dir, fmt.Sprintf("%s-round%d", v.id, r+1))
			if err := os.MkdirAll(logs, 0o755); err != nil {
				return err
			}
			cpu, peak, err := measure(ctx, v, logs, sink, spans, next)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, v.name, err)
			}
			next += uint64(spans)
			v.cpu = append(v.cpu, cpu*1e6/float64(spans))
			v.peakMiB = append(v.peakMiB, peak)
		}
	}

	fmt.Printf("bench-collector: %d spans per collector per round (%d-span traces, a fifth scoring spans), %d rounds, OTLP/gRPC on 127.0.0.1;\n"+
		"CPU of the collector process from /proc (user+system), least of the rounds; %d CPUs shared with other work\n"+
		"(load average %s at the start, %s at the end): compare the ratios\n\n",
		spans, loadgen.TraceSpans, rounds, runtime.NumCPU(), loadStart, loadgen.LoadAvg())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "pipeline\tCPU s / 1M spans\tper round\tpeak RSS MiB\tCPU vs floor\tCPU vs eppscoring")
	floor, ours := slices.Min(vs[0].cpu), slices.Min(vs[1].cpu)
	for _, v := range vs {
		c := slices.Min(v.cpu)
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%.0f\t%.2fx\t%.2fx\n", v.name, c, fmtList(v.cpu), slices.Max(v.peakMiB), c/floor, c/ours)
	}
	tw.Flush()
	contribCPU := slices.Min(vs[2].cpu)
	fmt.Printf("\ngoal: eppscoring within 15%% of the floor's CPU per span: %s (+%.0f%%); at least 3x cheaper than contrib: %s (%.2fx)\n",
		yes(ours <= 1.15*floor), 100*(ours/floor-1), yes(contribCPU >= 3*ours), contribCPU/ours)
	return nil
}

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func fmtList(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, " ")
}

// measure starts v's collector, sends spans as fast as it acknowledges them
// and returns the CPU seconds it spent from the first request until the
// sink held every span, and its peak RSS in MiB.
func measure(ctx context.Context, v *variant, dir string, sink *loadgen.Sink, spans int64, first uint64) (float64, float64, error) {
	c, err := loadgen.StartCollector(ctx, v.bin, v.config, dir, sink.Addr())
	if err != nil {
		return 0, 0, err
	}
	defer c.Stop()
	s, err := loadgen.Dial(c.GRPC)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	before, err := otelcol.ProcUsage(c.Proc.Pid())
	if err != nil {
		return 0, 0, err
	}
	base := sink.Spans()
	l := &loadgen.Load{Sender: s, Spans: spans, BatchTraces: 40, Workers: 4, Timeout: 30 * time.Second, FirstID: first}
	res := l.Run(ctx)
	if res.Acked != spans {
		return 0, 0, fmt.Errorf("acknowledged %d of %d spans (first error: %v)", res.Acked, spans, res.FirstErr)
	}
	if err := sink.WaitSpans(base+spans, 2*time.Minute); err != nil {
		return 0, 0, err
	}
	after, err := otelcol.ProcUsage(c.Proc.Pid())
	if err != nil {
		return 0, 0, err
	}
	return after.CPUSeconds - before.CPUSeconds, float64(after.PeakRSS) / (1 << 20), nil
}

// eppscoringBuckets runs the eppscoring pipeline briefly and reads the
// bucket bounds of its scorer duration histogram from the scrape.
func eppscoringBuckets(ctx context.Context, bin, cfg, dir string, sink *loadgen.Sink) ([]float64, error) {
	c, err := loadgen.StartCollector(ctx, bin, cfg, dir, sink.Addr())
	if err != nil {
		return nil, err
	}
	defer c.Stop()
	s, err := loadgen.Dial(c.GRPC)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Export(ctx, loadgen.Batch(4, 1<<59)); err != nil {
		return nil, err
	}
	name := otelcol.PromName(schema.MetricScorerDuration) + "_seconds"
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		f, err := otelcol.Scrape(ctx, c.MetricsURL)
		if fam, ok := f[name]; err == nil && ok && len(fam.GetMetric()) > 0 {
			var bounds []float64
			for _, b := range fam.GetMetric()[0].GetHistogram().GetBucket() {
				if !math.IsInf(b.GetUpperBound(), 1) {
					bounds = append(bounds, b.GetUpperBound())
				}
			}
			sort.Float64s(bounds)
			return bounds, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, fmt.Errorf("no %s in the eppscoring run's scrape", name)
}

// config wraps a pipeline in the receivers, extensions and telemetry every
// variant shares (the SCORELENS_LOAD_* variables of loadgen.StartCollector).
func config(pipeline string) string {
	return `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:SCORELENS_LOAD_OTLP_GRPC}
      http:
        endpoint: ${env:SCORELENS_LOAD_OTLP_HTTP}
exporters:
  otlp_grpc/sink:
    endpoint: ${env:SCORELENS_LOAD_SINK}
    tls:
      insecure: true
  prometheus:
    endpoint: ${env:SCORELENS_LOAD_PROMETHEUS}
extensions:
  health_check:
    endpoint: ${env:SCORELENS_LOAD_HEALTH}
` + pipeline + `
  extensions: [health_check]
  telemetry:
    logs:
      level: warn
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: ${env:SCORELENS_LOAD_TELEMETRY_PORT}
`
}

// The processors' settings are otelcol-dist/config.yaml's.
const commonProcessors = `processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 512
    spike_limit_mib: 128
  batch:
    timeout: 1s
`

const floorPipeline = `processors:
  batch:
    timeout: 1s
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_grpc/sink]`

const oursPipeline = commonProcessors + `  eppscoring:
    mode: strip
connectors:
  eppscoring:
    metrics_flush_interval: 2s
    parent_join:
      timeout: 2s
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, eppscoring, batch]
      exporters: [otlp_grpc/sink, eppscoring]
    metrics:
      receivers: [eppscoring]
      exporters: [prometheus]`

// contribPipeline is contrib's equivalent: the redaction processor with the
// schema's keys allowed and endpoint-shaped values blocked, the spanmetrics
// connector keyed by scorer type and name, with eppscoring's buckets and
// cardinality limit.
func contribPipeline(buckets []float64) string {
	keys := []string{string(semconv.ServiceNameKey), string(semconv.K8SPodNameKey), string(semconv.HTTPRouteKey)}
	for _, kind := range []schema.SpanKind{schema.Scoring, schema.Scorer} {
		for _, a := range schema.Attributes(kind) {
			keys = append(keys, a.Key)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var b strings.Builder
	b.WriteString(commonProcessors)
	b.WriteString("  redaction:\n    allowed_keys:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "      - %q\n", k)
	}
	// bench/processor_bench_test.go's regexes: IPv4 (with or without
	// port), IPv6, host:port, Deployment pod names, URLs with a host.
	b.WriteString(`    blocked_values:
      - '\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b'
      - '(?i)\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b'
      - '\b[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?:\d{2,5}\b'
      - '\b[a-z0-9](?:[-a-z0-9]*[a-z0-9])?-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}\b'
      - '[a-z][a-z0-9+.-]*://[^/\s]+'
    summary: info
connectors:
  span_metrics:
    metrics_flush_interval: 2s
    aggregation_cardinality_limit: 1000
    dimensions:
`)
	fmt.Fprintf(&b, "      - name: %q\n      - name: %q\n", schema.AttrScorerType, schema.AttrScorerName)
	b.WriteString("    histogram:\n      explicit:\n        buckets:\n")
	for _, s := range buckets {
		fmt.Fprintf(&b, "          - %dns\n", int64(math.Round(s*1e9)))
	}
	b.WriteString(`service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, redaction, batch]
      exporters: [otlp_grpc/sink, span_metrics]
    metrics:
      receivers: [span_metrics]
      exporters: [prometheus]`)
	return b.String()
}
