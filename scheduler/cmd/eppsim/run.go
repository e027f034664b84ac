package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/otel"
)

// flushTimeout bounds how long exiting waits for spans to reach the exporter.
const flushTimeout = 5 * time.Second

// run is the program after flag parsing: tracing from the environment, the
// simulation until it ends, ctx is cancelled or an export fails, spans
// flushed, then the summary on stderr. Spans of the console exporter go to
// stdout; nothing else does. The flush comes before any output after the
// start line, so a reader that goes away early (eppsim 2>&1 | head) cannot
// cut it short. The error is non-nil when a span was lost, whatever the
// protocol: it says how many, where they were going and why.
func run(ctx context.Context, cfg config, getenv func(string) string, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	tc, err := tracingFromEnv(getenv)
	if err != nil {
		return err
	}
	tr, err := newTracerProvider(ctx, tc, stdout)
	if err != nil {
		return err
	}
	// Failed exports are counted and reported once, in the final error;
	// the SDK would otherwise print a line for each one as it happens.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		var counted *exportError
		if !errors.As(err, &counted) {
			log.Warn("OpenTelemetry SDK", "error", err)
		}
	}))
	// As an EPP would: libraries that trace through the global see it too.
	otel.SetTracerProvider(tr.provider)

	// The first failed export ends the run: the exporter has already
	// retried what it could, the counts downstream are wrong from then on,
	// and a dead collector would otherwise make every batch wait out its
	// timeout.
	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	var exportFailed atomic.Bool
	tr.acct.mu.Lock()
	tr.acct.onFail = func() { exportFailed.Store(true); stopSim() }
	tr.acct.mu.Unlock()

	sim, err := newSimulation(cfg, tr.provider)
	if err != nil {
		return errors.Join(err, tr.flush(ctx))
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		simCtx, cancel = context.WithTimeout(simCtx, cfg.duration)
		defer cancel()
	}
	attrs := []any{"requests", cfg.requests, "endpoints", cfg.endpoints, "rate", cfg.rate,
		"duration", cfg.duration, "seed", cfg.seed, "exporter", tc.exporter}
	if tc.exporter == exporterOTLP {
		attrs = append(attrs, "protocol", tc.protocol, "otlp_endpoint", tc.endpoint, "insecure", tc.insecure)
	}
	if tc.exporter != exporterNone {
		attrs = append(attrs, "sampler", tc.sampler, "service", tc.serviceName)
		if tc.sampler == samplerRatio || tc.sampler == samplerParentRatio {
			attrs = append(attrs, "sampler_arg", tc.samplerArg)
		}
	}
	log.Info("eppsim starting", attrs...)
	sim.run(simCtx)
	stoppedByFailure := exportFailed.Load()

	// A cancelled ctx (a signal) must not cut the flush short.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	lossErr := tr.flush(fctx)
	cancel()

	if sim.stats.firstErr != nil {
		log.Warn("requests failed to schedule", "failed", sim.stats.failed, "first_error", sim.stats.firstErr)
	}
	sim.writeSummary(stderr)
	if tc.exporter != exporterNone {
		tr.acct.writeSummary(stderr, tc, tr.threshold, sim.stats.profiles)
	}
	if lossErr != nil && stoppedByFailure {
		lossErr = fmt.Errorf("%w (the run stopped at the first failed export, after %d requests)", lossErr, sim.stats.requests)
	}
	return lossErr
}

// writeSummary prints the run's figures: throughput, scheduling latency,
// picks per endpoint and what the fleet did with them.
func (s *simulation) writeSummary(w io.Writer) {
	st := &s.stats
	rps := 0.0
	if st.wall > 0 {
		rps = float64(st.requests) / st.wall.Seconds()
	}
	fmt.Fprintf(w, "\neppsim: %d requests (%d failed) in %v: %.1f requests/s; %v of simulated traffic on %d endpoints\n",
		st.requests, st.failed, st.wall.Round(time.Millisecond), rps, st.simulated.Round(time.Millisecond), len(st.picks))
	p50, p99 := percentile(st.latencies, 0.50), percentile(st.latencies, 0.99)
	fmt.Fprintf(w, "scheduling latency: p50 %v, p99 %v\n", p50, p99)

	fs := s.fleet.Stats()
	hit := 0.0
	if fs.PromptTokens > 0 {
		hit = 100 * float64(fs.CachedPromptTokens) / float64(fs.PromptTokens)
	}
	fmt.Fprintf(w, "fleet: %d completed, %d shed (queue full), prefix-cache hits %.1f%% of prompt tokens, %d adapter loads, %d evictions, longest queue %d\n",
		fs.Completed, fs.Rejected, hit, fs.AdapterLoads, fs.AdapterEvictions, fs.MaxWaiting)

	fmt.Fprintln(w, "picks per endpoint (with its state at the end):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  endpoint\taddress\tpicks\tqueue\trunning\tKV cache\tadapters")
	for i, ep := range s.fleet.Endpoints() {
		m := ep.Metrics
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%.0f%%\t%d\n",
			ep.Metadata.Name, ep.Metadata.Address, st.picks[i], m.WaitingQueueSize, m.RunningRequestsSize,
			100*m.KVCacheUsagePercent, len(m.ActiveModels))
	}
	tw.Flush()
}

// percentile returns the q-quantile (nearest rank) of ds, 0 when empty.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}
