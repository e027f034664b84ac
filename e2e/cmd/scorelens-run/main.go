// Command scorelens-run is `make run`: the whole path on one machine. It
// starts the built collector with the default config, waits for its health
// check, drives it with a short eppsim burst over OTLP gRPC, sampled as a
// real EPP samples (parentbased_traceidratio, -sample-ratio), then scrapes
// the connector's Prometheus endpoint and the collector's own metrics and
// prints a table per scorer (per profile when the series carry one): the
// connector's extrapolated calls next to the true calls eppsim reports, and
// the processor's removal counts. Any failure exits non-zero with the tail
// of the collector's log.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
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
	sampleRatio                        float64 // eppsim's parentbased_traceidratio argument
	eppsimFlags                        string  // more eppsim flags, space-separated
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
	flag.Float64Var(&o.sampleRatio, "sample-ratio", 0.25,
		"eppsim samples with parentbased_traceidratio at this ratio, as upstream's EPP does (its default is 0.1); the connector extrapolates from the threshold in each span's tracestate. 1 samples everything")
	flag.StringVar(&o.eppsimFlags, "eppsim-flags", "", "more eppsim flags, space-separated (e.g. -disagg for prefill/decode traffic, -seed 7)")
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
	if !(o.sampleRatio > 0 && o.sampleRatio <= 1) {
		return fmt.Errorf("-sample-ratio %v: want a ratio in (0, 1]", o.sampleRatio)
	}
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
	args = append(args, strings.Fields(o.eppsimFlags)...)
	ratio := strconv.FormatFloat(o.sampleRatio, 'g', -1, 64)
	fmt.Fprintf(out, "scorelens: eppsim %v -> %s (OTLP gRPC), sampled with %s %s: the connector's counts are extrapolated, eppsim's are the truth\n",
		args, o.otlp, samplerName, ratio)
	sim := exec.CommandContext(ctx, o.eppsim, args...)
	// Later entries win: these override the caller's OTEL_* environment.
	sim.Env = append(os.Environ(),
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+o.otlp,
		"OTEL_TRACES_SAMPLER="+samplerName,
		"OTEL_TRACES_SAMPLER_ARG="+ratio,
	)
	var summary bytes.Buffer
	sim.Stdout, sim.Stderr = out, io.MultiWriter(out, &summary)
	if err := sim.Run(); err != nil {
		return fmt.Errorf("eppsim: %w", err)
	}
	truth, err := parseTruth(summary.String())
	if err != nil {
		return err
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
	if err := printReport(out, o, truth, fams, own); err != nil {
		return err
	}
	return writeReport(out, o, fams)
}

// samplerName is the sampler eppsim runs with: upstream EPP's only one.
const samplerName = "parentbased_traceidratio"

// truth is what eppsim's summary says it did, sampled or not.
type truth struct {
	chains, sampled float64
	// profiles holds chains and sampled chains by profile name, when eppsim
	// could tell the profiles apart ("" for chains without one).
	profiles map[string][2]float64
	// adjusted is the adjusted count of the threshold eppsim's sampler
	// wrote: how many chains one sampled chain stands for.
	adjusted float64
	th       string
	// unsplit: several profiles ran but eppsim could not count chains per
	// profile; a scorer's true calls (its profile's chains) are unknown.
	unsplit bool
}

var (
	samplerLine = regexp.MustCompile(`(?m)^sampler: \S+ \S+, writes ot=th:([0-9a-f]+) \(probability \S+, adjusted count (\S+)\)$`)
	chainsLine  = regexp.MustCompile(`(?m)^scoring chains: (\d+), sampled (\d+) `)
	profileLine = regexp.MustCompile(`(?m)^  profile (\S+): (\d+), sampled (\d+)$`)
	unsplitLine = regexp.MustCompile(`(?m)^profiles: .*true chains per profile unknown`)
)

// parseTruth reads eppsim's summary (printed on stderr after its flush).
func parseTruth(summary string) (truth, error) {
	var t truth
	m := chainsLine.FindStringSubmatch(summary)
	if m == nil {
		return t, fmt.Errorf("eppsim's summary has no line matching %q", chainsLine)
	}
	t.chains, _ = strconv.ParseFloat(m[1], 64)
	t.sampled, _ = strconv.ParseFloat(m[2], 64)
	m = samplerLine.FindStringSubmatch(summary)
	if m == nil {
		return t, fmt.Errorf("eppsim's summary has no line matching %q", samplerLine)
	}
	t.th = m[1]
	var err error
	if t.adjusted, err = strconv.ParseFloat(m[2], 64); err != nil || !(t.adjusted >= 1) {
		return t, fmt.Errorf("eppsim's sampler line: adjusted count %q", m[2])
	}
	t.unsplit = unsplitLine.MatchString(summary)
	for _, m := range profileLine.FindAllStringSubmatch(summary, -1) {
		if t.profiles == nil {
			t.profiles = map[string][2]float64{}
		}
		name := m[1]
		if name == "(none)" {
			name = ""
		}
		n, _ := strconv.ParseFloat(m[2], 64)
		s, _ := strconv.ParseFloat(m[3], 64)
		t.profiles[name] = [2]float64{n, s}
	}
	return t, nil
}

// chainsOf returns the true number of chains of a profile (of all of them
// when the series carry no profile), and whether eppsim reported it.
func (t truth) chainsOf(profile string, byProfile bool) (float64, bool) {
	if !byProfile {
		return t.chains, true
	}
	c, ok := t.profiles[profile]
	return c[0], ok
}

// callsOf returns the true number of calls of a scorer of a profile: one
// per chain of that profile. Over series merged across several profiles it
// is unknown (a scorer need not be in every profile).
func (t truth) callsOf(profile string, byProfile bool) (float64, bool) {
	if !byProfile && (t.unsplit || len(t.profiles) > 1) {
		return 0, false
	}
	return t.chainsOf(profile, byProfile)
}

// checkNoLoss compares the chains the connector counted with the chains
// eppsim sampled: either extrapolated (each counts for the threshold's
// adjusted count, give or take its rounding to a whole number per span) or
// counted as they are, by a connector that reads no threshold. Anything
// else means spans were lost on the way.
func checkNoLoss(counted float64, t truth) error {
	want := t.sampled * t.adjusted
	slack := t.sampled*math.Abs(t.adjusted-math.Round(t.adjusted)) + 1e-9*want
	if math.Abs(counted-want) <= slack || counted == t.sampled {
		return nil
	}
	return fmt.Errorf("the connector counted %.0f scoring chains for the %.0f that eppsim sampled (each standing for %g): spans were lost between eppsim and the Prometheus endpoint",
		counted, t.sampled, t.adjusted)
}

// countBy adds up a counter family by the given labels (a missing label
// groups as ""), keyed by the label values joined with NUL. The family is
// looked up under name and name_total.
func countBy(fams otelcol.Families, name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, n := range []string{name, name + "_total"} {
		for _, m := range fams[n].GetMetric() {
			vals := make([]string, len(labels))
			for i, l := range labels {
				vals[i], _ = otelcol.Label(m, l)
			}
			out[strings.Join(vals, "\x00")] += m.GetCounter().GetValue()
		}
	}
	return out
}

// carries says whether any series of a family has the label, non-empty.
func carries(fams otelcol.Families, name, label string) bool {
	for _, m := range fams[name].GetMetric() {
		if v, _ := otelcol.Label(m, label); v != "" {
			return true
		}
	}
	return false
}

// errPercent is the relative error of an estimate, in percent.
func errPercent(estimate, truth float64) string {
	if truth == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100*(estimate-truth)/truth)
}

// orNone names the empty profile.
func orNone(profile string) string {
	if profile == "" {
		return "(none)"
	}
	return profile
}

var (
	scorerMetric = otelcol.PromName(schema.MetricScorerDuration) + "_seconds"
	callsMetric  = otelcol.PromName(schema.MetricScorerCalls)
	chainMetric  = otelcol.PromName(schema.MetricScoringDuration) + "_seconds"
	// decisiveMetric, tiesMetric and marginMetric say who decided the picks.
	decisiveMetric = otelcol.PromName(schema.MetricScorerDecisive)
	tiesMetric     = otelcol.PromName(schema.MetricScoringTies)
	marginMetric   = otelcol.PromName(schema.MetricScoringMargin)
	// profileLabel is the profile attribute as the Prometheus exporter
	// renders it (dots to underscores).
	profileLabel = otelcol.PromName(schema.AttrProfileName)
)

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

func printReport(out io.Writer, o options, tr truth, fams, own otelcol.Families) error {
	if err := printScorers(out, o, tr, fams); err != nil {
		return err
	}
	return printProcessor(out, o, own)
}

// printScorers prints the per-scorer table and the chain lines, per profile
// when the series carry one (disaggregated traffic through a connector that
// attributes chains to their profile), else as one.
func printScorers(out io.Writer, o options, tr truth, fams otelcol.Families) error {
	byProfile := carries(fams, scorerMetric, profileLabel)
	labels := []string{otelcol.PromName(schema.AttrScorerType), otelcol.PromName(schema.AttrScorerName)}
	if byProfile {
		labels = append([]string{profileLabel}, labels...)
	}
	rows, err := fams.HistogramBy(scorerMetric, labels...)
	if err != nil {
		return err
	}
	calls := countBy(fams, callsMetric, labels...)
	decisive, decided := countBy(fams, decisiveMetric, labels...), fams[decisiveMetric+"_total"] != nil || fams[decisiveMetric] != nil
	fmt.Fprintf(out, "\nScorers, sampled with %s %g (th:%s): CALLS is %s_total as the connector extrapolates it, TRUE the calls eppsim made "+
		"(each scorer runs once per chain of its profile); latency from %s, p50/p99 interpolated linearly inside the bucket that holds them; "+
		"DECIDED the share of its calls in which the scorer was decisive (%s_total / CALLS: without it the best total would have been other endpoints')\n\n",
		samplerName, o.sampleRatio, tr.th, callsMetric, scorerMetric, decisiveMetric)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	head := "TYPE\tNAME\tCALLS\tTRUE\tERROR\tP50\tP99\tMEAN\tDECIDED"
	if byProfile {
		head = "PROFILE\t" + head
	}
	fmt.Fprintln(tw, head)
	var total, worst float64
	compared := 0
	for _, r := range rows {
		c, ok := calls[strings.Join(r.Labels, "\x00")]
		if !ok { // no calls counter: the histogram counts the same calls
			c = r.Count
		}
		total += c
		profile := ""
		if byProfile {
			profile = r.Labels[0]
			fmt.Fprintf(tw, "%s\t", orNone(profile))
		}
		trueCell, errCell := "?", "-"
		if want, known := tr.callsOf(profile, byProfile); known {
			trueCell, errCell = fmt.Sprintf("%.0f", want), errPercent(c, want)
			if want > 0 {
				worst = max(worst, math.Abs(100*(c-want)/want))
				compared++
			}
		}
		n := len(r.Labels)
		decidedCell := "-" // the spans carried no decision signal
		if d, ok := decisive[strings.Join(r.Labels, "\x00")]; ok && decided && c > 0 {
			decidedCell = fmt.Sprintf("%.1f%%", 100*d/c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Labels[n-2], r.Labels[n-1], c, trueCell, errCell,
			quantile(r.P50, r), quantile(r.P99, r), seconds(r.Sum/r.Count), decidedCell)
	}
	tw.Flush()
	fmt.Fprintf(out, "%d scorer series, %.0f scorer calls", len(rows), total)
	if compared > 0 {
		fmt.Fprintf(out, "; largest error against the truth %.1f%% (%d series compared)", worst, compared)
	}
	fmt.Fprintln(out)

	var chainLabels []string
	if byProfile {
		chainLabels = []string{profileLabel}
	}
	chains, err := fams.HistogramBy(chainMetric, chainLabels...)
	if err != nil {
		return err
	}
	if len(chains) == 0 {
		return fmt.Errorf("%s has no series on %s", chainMetric, o.metrics)
	}
	var counted float64
	for _, c := range chains {
		counted += c.Count
		name, profile := "whole chain", ""
		if byProfile {
			profile = c.Labels[0]
			name = "profile " + orNone(profile)
		}
		trueCell := "?"
		if want, known := tr.chainsOf(profile, byProfile); known {
			trueCell = fmt.Sprintf("%.0f (error %s)", want, errPercent(c.Count, want))
		}
		fmt.Fprintf(out, "%s (%s): %.0f chains, true %s, p50 %s, p99 %s\n",
			name, chainMetric, c.Count, trueCell, seconds(c.P50), seconds(c.P99))
	}
	if margins, err := fams.HistogramBy(marginMetric); err == nil && len(margins) > 0 {
		var n, sum float64
		for _, m := range margins {
			n, sum = n+m.Count, sum+m.Sum
		}
		ties := countBy(fams, tiesMetric)[""]
		fmt.Fprintf(out, "who decides (%s, %s): %.0f of %.0f chains tied at the top (%.1f%%), mean margin %.3f of the weights\n",
			tiesMetric, marginMetric, ties, counted, 100*ties/max(counted, 1), sum/max(n, 1))
	}
	fmt.Fprintf(out, "eppsim: %.0f chains, %.0f sampled (th:%s: each stands for %g)\n", tr.chains, tr.sampled, tr.th, tr.adjusted)
	if err := checkNoLoss(counted, tr); err != nil {
		return err
	}
	if counted == tr.sampled && tr.adjusted != 1 {
		fmt.Fprintln(out, "note: this connector counts the sampled chains without extrapolating them (it reads no sampling threshold)")
	}
	return nil
}

// printProcessor prints the processor's own counts.
func printProcessor(out io.Writer, o options, own otelcol.Families) error {
	fmt.Fprintf(out, "\nProcessor eppscoring: removals and checks (collector's own metrics, %s)\n\n", o.telemetry)
	series := own.WithPrefix("otelcol_processor_eppscoring_")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
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
