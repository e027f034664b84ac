// Command scorelens-run is `make run`: the whole path on one machine. It
// starts the built collector with the default config, waits for its health
// check, drives it with a short eppsim burst over OTLP gRPC, then scrapes the
// connector's Prometheus endpoint and the collector's own metrics and prints
// a table per scorer and the processor's removal counts. Any failure exits
// non-zero with the tail of the collector's log.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

type options struct {
	collector, config, eppsim, logPath string
	otlp, otlpHTTP                     string // host:port of the OTLP receivers
	health, metrics, telemetry         string // URLs
	requests, endpoints                int
	rate                               float64
	settle, timeout                    time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.collector, "collector", "otelcol-dist/otelcol-dist", "collector binary (built by `make collector`)")
	flag.StringVar(&o.config, "config", "otelcol-dist/config.yaml", "collector config")
	flag.StringVar(&o.eppsim, "eppsim", ".tools/bin/eppsim", "eppsim binary (built by `make run`)")
	flag.StringVar(&o.logPath, "log", "out/collector.log", "where the collector's output goes")
	flag.StringVar(&o.otlp, "otlp", "127.0.0.1:4317", "the config's OTLP gRPC receiver endpoint")
	flag.StringVar(&o.otlpHTTP, "otlp-http", "127.0.0.1:4318", "the config's OTLP HTTP receiver endpoint")
	flag.StringVar(&o.health, "health", "http://127.0.0.1:13133/", "the config's health_check URL")
	flag.StringVar(&o.metrics, "metrics", "http://127.0.0.1:8889/metrics", "the config's Prometheus exporter URL")
	flag.StringVar(&o.telemetry, "telemetry", "http://127.0.0.1:8888/metrics", "the collector's own metrics URL")
	flag.IntVar(&o.requests, "requests", 2000, "eppsim -requests")
	flag.IntVar(&o.endpoints, "endpoints", 20, "eppsim -endpoints")
	flag.Float64Var(&o.rate, "rate", 0, "eppsim -rate (0: as fast as possible)")
	flag.DurationVar(&o.settle, "settle", 3*time.Second,
		"how long the scorer counts must stay unchanged before the table is printed (more than the connector's metrics_flush_interval)")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "deadline of the whole run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "scorelens-run: FAILED: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	for _, f := range []struct{ what, path string }{
		{"collector binary (make collector)", o.collector}, {"collector config", o.config}, {"eppsim binary", o.eppsim},
	} {
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.what, err)
		}
	}
	ports, err := portUses(o)
	if err != nil {
		return err
	}
	if err := otelcol.CheckPortsFree(ports); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.logPath), 0o755); err != nil {
		return fmt.Errorf("log folder: %w", err)
	}

	col, err := otelcol.Start(o.collector, o.config, o.logPath, nil)
	if err != nil {
		return err
	}
	err = drive(ctx, o, col, out)
	stopErr := col.Stop(15 * time.Second)
	if err == nil && stopErr != nil {
		err = stopErr
	}
	if err != nil {
		return fmt.Errorf("%w\n--- last lines of the collector's log (%s) ---\n%s", err, col.LogPath(), col.LogTail(30))
	}
	fmt.Fprintf(out, "\nscorelens: collector stopped cleanly (log: %s)\n", col.LogPath())
	return nil
}

func drive(ctx context.Context, o options, col *otelcol.Process, out io.Writer) error {
	healthCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := col.WaitHealthy(healthCtx, o.health); err != nil {
		return err
	}
	fmt.Fprintf(out, "scorelens: collector healthy (%s); log: %s\n", o.health, o.logPath)

	args := []string{"-requests", strconv.Itoa(o.requests), "-endpoints", strconv.Itoa(o.endpoints),
		"-rate", strconv.FormatFloat(o.rate, 'g', -1, 64)}
	fmt.Fprintf(out, "scorelens: eppsim %v -> %s (OTLP gRPC)\n", args, o.otlp)
	sim := exec.CommandContext(ctx, o.eppsim, args...)
	sim.Env = append(os.Environ(),
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+o.otlp,
	)
	sim.Stdout, sim.Stderr = out, out
	if err := sim.Run(); err != nil {
		return fmt.Errorf("eppsim: %w", err)
	}

	fmt.Fprintf(out, "scorelens: waiting for the connector's histograms on %s ...\n", o.metrics)
	fams, err := waitSettled(ctx, o, col)
	if err != nil {
		return err
	}
	own, err := otelcol.Scrape(ctx, o.telemetry)
	if err != nil {
		return err
	}
	if err := writeReport(out, o, fams); err != nil {
		return err
	}
	return printReport(out, o, fams, own)
}

var scorerMetric = otelcol.PromName(schema.MetricScorerDuration) + "_seconds"

// waitSettled polls the connector's endpoint until the scorer histograms
// have counts that stayed unchanged for o.settle: the connector flushes on
// an interval and holds scorer spans until their parent arrives, so the
// first non-zero scrape is not yet the whole burst.
func waitSettled(ctx context.Context, o options, col *otelcol.Process) (otelcol.Families, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var (
		last     = -1.0
		lastMove time.Time
		lastErr  error
	)
	for {
		fams, err := otelcol.Scrape(ctx, o.metrics)
		if err == nil {
			var rows []otelcol.HistRow
			rows, err = fams.HistogramBy(scorerMetric)
			if err == nil {
				total := 0.0
				for _, r := range rows {
					total += r.Count
				}
				if total != last {
					last, lastMove = total, time.Now()
				} else if total > 0 && time.Since(lastMove) >= o.settle {
					return fams, nil
				}
			}
		}
		lastErr = err
		select {
		case <-col.Done():
			return nil, errors.New("collector exited while waiting for metrics")
		case <-ctx.Done():
			if last > 0 {
				return nil, fmt.Errorf("scorer counts still moving at the deadline (%v scorer spans so far): %w", last, ctx.Err())
			}
			return nil, fmt.Errorf("no %s on %s before the deadline: %w (last: %v)", scorerMetric, o.metrics, ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

func printReport(out io.Writer, o options, fams, own otelcol.Families) error {
	rows, err := fams.HistogramBy(scorerMetric, otelcol.PromName(schema.AttrScorerType), otelcol.PromName(schema.AttrScorerName))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nScorer latency: %s from %s (all models; p50/p99 interpolated linearly inside the histogram bucket that holds them)\n\n", scorerMetric, o.metrics)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tNAME\tCALLS\tP50\tP99\tMEAN")
	var calls float64
	for _, r := range rows {
		calls += r.Count
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\n", r.Labels[0], r.Labels[1], r.Count,
			quantile(r.P50, r), quantile(r.P99, r), seconds(r.Sum/r.Count))
	}
	tw.Flush()
	fmt.Fprintf(out, "%d scorers, %.0f scorer spans\n", len(rows), calls)

	chainMetric := otelcol.PromName(schema.MetricScoringDuration) + "_seconds"
	chain, err := fams.HistogramBy(chainMetric)
	if err != nil {
		return err
	}
	if len(chain) == 0 {
		return fmt.Errorf("%s has no series on %s", chainMetric, o.metrics)
	}
	fmt.Fprintf(out, "whole chain (%s): %.0f chains, p50 %s, p99 %s\n", chainMetric, chain[0].Count, seconds(chain[0].P50), seconds(chain[0].P99))
	if int(chain[0].Count) != o.requests {
		return fmt.Errorf("the connector counted %.0f scoring chains for %d scheduled requests: spans were lost between eppsim and the Prometheus endpoint", chain[0].Count, o.requests)
	}

	fmt.Fprintf(out, "\nProcessor eppscoring: removals and checks (collector's own metrics, %s)\n\n", o.telemetry)
	series := own.WithPrefix("otelcol_processor_eppscoring_")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	removed := 0.0
	for _, s := range series {
		fmt.Fprintf(tw, "%s%s\t%.0f\n", s.Name, labelString(s.Labels), s.Value)
		if s.Name != "otelcol_processor_eppscoring_spans_checked_total" && s.Name != "otelcol_processor_eppscoring_spans_checked" {
			removed += s.Value
		}
	}
	tw.Flush()
	switch {
	case len(series) == 0:
		return fmt.Errorf("no otelcol_processor_eppscoring_* series on %s: is the processor in the traces pipeline?", o.telemetry)
	case removed == 0:
		fmt.Fprintln(out, "no attribute removed: eppsim's scoring spans follow the no-per-endpoint rule")
	}
	return nil
}

func labelString(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	pairs := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		pairs = append(pairs, k+"="+strconv.Quote(l[k]))
	}
	return "{" + strings.Join(pairs, ",") + "}"
}

// quantile prints a quantile, or "≤ bound" when it falls into the first
// bucket: interpolating from zero there would print a precision the
// histogram does not have. Likewise "≥ bound" when observations lie beyond
// the largest finite bound and the quantile reached it: it may be anywhere
// above.
func quantile(q float64, r otelcol.HistRow) string {
	n := len(r.Buckets)
	if n < 2 {
		return seconds(q)
	}
	if q <= r.Buckets[0].UpperBound {
		return "≤" + seconds(r.Buckets[0].UpperBound)
	}
	if last := r.Buckets[n-2]; q >= last.UpperBound && r.Buckets[n-1].Count > last.Count {
		return "≥" + seconds(last.UpperBound)
	}
	return seconds(q)
}

// seconds prints a duration in seconds with a unit a human reads at a glance.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Nanosecond).String()
}

// portUses lists the loopback ports the default config binds, from the URLs
// this command talks to, so a busy port fails before the collector starts.
func portUses(o options) ([]otelcol.PortUse, error) {
	var uses []otelcol.PortUse
	add := func(what, hostport string) error {
		_, p, err := net.SplitHostPort(hostport)
		if err != nil {
			return fmt.Errorf("%s address %q: %w", what, hostport, err)
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("%s port %q: %w", what, p, err)
		}
		uses = append(uses, otelcol.PortUse{Port: port, What: what})
		return nil
	}
	if err := add("OTLP gRPC receiver", o.otlp); err != nil {
		return nil, err
	}
	if err := add("OTLP HTTP receiver", o.otlpHTTP); err != nil {
		return nil, err
	}
	for _, u := range []struct{ what, raw string }{
		{"health_check extension", o.health},
		{"Prometheus exporter of the connector's metrics", o.metrics},
		{"collector's own metrics", o.telemetry},
	} {
		parsed, err := url.Parse(u.raw)
		if err != nil {
			return nil, fmt.Errorf("%s URL %q: %w", u.what, u.raw, err)
		}
		if err := add(u.what, parsed.Host); err != nil {
			return nil, err
		}
	}
	return uses, nil
}
