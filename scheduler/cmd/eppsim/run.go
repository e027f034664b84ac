package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/otel"
)

// flushTimeout bounds how long exiting waits for spans to reach the exporter.
const flushTimeout = 5 * time.Second

// run is the program after flag parsing: tracing from the environment, the
// simulation until it ends or ctx is cancelled, spans flushed, the summary
// on stderr. Spans of the console exporter go to stdout; nothing else does.
func run(ctx context.Context, cfg config, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	tc, err := tracingFromEnv(getenv)
	if err != nil {
		return err
	}
	tp, shutdown, err := newTracerProvider(ctx, tc, stdout)
	if err != nil {
		return err
	}
	defer func() {
		// A cancelled ctx (a signal) must not cut the flush short.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
		defer cancel()
		if serr := shutdown(fctx); serr != nil && err == nil {
			err = fmt.Errorf("flushing spans to %s: %w", tc.destination(), serr)
		}
	}()
	// As an EPP would: libraries that trace through the global see it too.
	otel.SetTracerProvider(tp)

	sim, err := newSimulation(cfg, tp)
	if err != nil {
		return err
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	attrs := []any{"requests", cfg.requests, "endpoints", cfg.endpoints, "rate", cfg.rate,
		"duration", cfg.duration, "seed", cfg.seed, "exporter", tc.exporter}
	if tc.exporter == exporterOTLP {
		attrs = append(attrs, "protocol", tc.protocol, "otlp_endpoint", tc.endpoint, "insecure", tc.insecure)
	}
	if tc.exporter != exporterNone {
		attrs = append(attrs, "sampler", tc.sampler, "service", tc.serviceName)
	}
	log.Info("eppsim starting", attrs...)
	sim.run(ctx)
	if sim.stats.firstErr != nil {
		log.Warn("requests failed to schedule", "failed", sim.stats.failed, "first_error", sim.stats.firstErr)
	}
	sim.writeSummary(stderr)
	return nil
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
