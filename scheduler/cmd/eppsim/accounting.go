package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/cmd/eppsim/internal/sampling"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// accounting counts what became of a run's spans, so that eppsim can say
// how many scoring chains it ran and sampled (the truth a collector's
// extrapolated counts are compared with) and can never lose a span without
// saying so: spans handed to the exporter against those the exporter
// reported exported, from the SDK's own export results.
type accounting struct {
	dest string // where spans go, for messages

	ended    atomic.Uint64 // sampled spans handed to the batcher
	exported atomic.Uint64 // spans in exports that succeeded
	failed   atomic.Uint64 // spans in exports that failed

	mu       sync.Mutex
	firstErr error       // the first failed export's error
	onFail   func()      // called once, at the first failed export
	failOnce sync.Once   // guards onFail
	chains   chainCounts // scoring chains by profile
	// The profile of the trace's latest run_scheduler_profile span: eppsim
	// schedules one request at a time, so the chains that start after it in
	// that trace are its.
	lastTrace   trace.TraceID
	lastProfile string
	// byRuns: the scheduler makes run_scheduler_profile spans, whose
	// starts count the chains (see chainCount).
	byRuns bool
	// named are the profile names on the sampled run_scheduler_profile
	// spans that ended: the profiles there are, even when the scheduler
	// names them too late for the sampler to count chains per profile.
	named map[string]bool
}

// chainCounts are scoring chains started and sampled, by profile name ("":
// the chain has no run_scheduler_profile span naming its profile at start).
type chainCounts map[string]*chainCount

// chainCount counts a profile's runs (run_scheduler_profile spans started)
// and its scoring chains (llm_d.epp.scoring spans started), each with how
// many were sampled. A scheduler may start the scoring span only when the
// profile's span records (ours does, to spend nothing on unsampled
// chains): then only the runs count every chain, sampled or not.
type chainCount struct{ runs, runsSampled, chains, chainsSampled uint64 }

// total is the true number of chains: the profile's runs when the
// scheduler makes run_scheduler_profile spans (byRuns), else the scoring
// spans started.
func (c *chainCount) total(byRuns bool) uint64 {
	if byRuns {
		return c.runs
	}
	return c.chains
}

// count returns the profile's counts, created on first use.
func (c chainCounts) count(profile string) *chainCount {
	n := c[profile]
	if n == nil {
		n = &chainCount{}
		c[profile] = n
	}
	return n
}

func newAccounting(dest string) *accounting {
	return &accounting{dest: dest, chains: chainCounts{}, named: map[string]bool{}}
}

// exportError is an export failure that the accounting has counted: the
// OTel error handler need not print it (the run's final error says it).
type exportError struct {
	spans int
	err   error
}

func (e *exportError) Error() string {
	return fmt.Sprintf("exporting %d spans: %v", e.spans, e.err)
}

func (e *exportError) Unwrap() error { return e.err }

// countingExporter counts the spans of every export by its result.
type countingExporter struct {
	sdktrace.SpanExporter
	acct *accounting
}

func (c countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := c.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		c.acct.exported.Add(uint64(len(spans)))
		return nil
	}
	c.acct.failed.Add(uint64(len(spans)))
	c.acct.mu.Lock()
	if c.acct.firstErr == nil {
		c.acct.firstErr = err
	}
	onFail := c.acct.onFail
	c.acct.mu.Unlock()
	if onFail != nil {
		c.acct.failOnce.Do(onFail)
	}
	return &exportError{spans: len(spans), err: err}
}

// countingProcessor counts the sampled spans that end, that is, every span
// the batcher is handed to export.
type countingProcessor struct {
	sdktrace.SpanProcessor
	acct *accounting
}

func (c countingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		c.acct.ended.Add(1)
		if s.Name() == schema.SpanRunSchedulerProfile {
			for _, kv := range s.Attributes() {
				if string(kv.Key) == schema.AttrProfileName {
					c.acct.mu.Lock()
					c.acct.named[kv.Value.Emit()] = true
					c.acct.mu.Unlock()
				}
			}
		}
	}
	c.SpanProcessor.OnEnd(s)
}

// countingSampler sees every span start, sampled or not (the SDK asks the
// sampler before anything else), and counts the scoring chains among them.
type countingSampler struct {
	sdktrace.Sampler
	acct *accounting
}

func (c countingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := c.Sampler.ShouldSample(p)
	switch p.Name {
	case schema.SpanRunSchedulerProfile:
		profile := ""
		for _, kv := range p.Attributes {
			if string(kv.Key) == schema.AttrProfileName {
				profile = kv.Value.Emit()
			}
		}
		c.acct.mu.Lock()
		c.acct.lastTrace, c.acct.lastProfile = p.TraceID, profile
		n := c.acct.chains.count(profile)
		n.runs++
		if res.Decision == sdktrace.RecordAndSample {
			n.runsSampled++
		}
		c.acct.byRuns = true
		c.acct.mu.Unlock()
	case schema.SpanScoring:
		c.acct.mu.Lock()
		profile := ""
		if p.TraceID == c.acct.lastTrace {
			profile = c.acct.lastProfile
		}
		n := c.acct.chains.count(profile)
		n.chains++
		if res.Decision == sdktrace.RecordAndSample {
			n.chainsSampled++
		}
		c.acct.mu.Unlock()
	}
	return res
}

// lossError says how many spans did not reach their destination, and why.
type lossError struct {
	lost, ended uint64
	dest        string
	cause       error // the first failed export's error, or the flush's
}

func (e *lossError) Error() string {
	return fmt.Sprintf("%d of %d spans lost on the way to %s: %v", e.lost, e.ended, e.dest, e.cause)
}

func (e *lossError) Unwrap() error { return e.cause }

// loss compares what ended with what was exported, after the flush; nil
// when every span arrived. flushErr is the provider's shutdown error.
func (a *accounting) loss(flushErr error) error {
	ended, exported := a.ended.Load(), a.exported.Load()
	a.mu.Lock()
	cause := a.firstErr
	a.mu.Unlock()
	if ended <= exported && flushErr == nil {
		return nil
	}
	if cause == nil {
		cause = flushErr
	}
	if cause == nil {
		cause = errors.New("spans were dropped before export")
	}
	if ended <= exported {
		// Every span went out, but the exporter did not shut down cleanly.
		return fmt.Errorf("flushing spans to %s: %w", a.dest, cause)
	}
	return &lossError{lost: ended - exported, ended: ended, dest: a.dest, cause: cause}
}

// writeSummary prints the sampler in effect (and the threshold it writes,
// "" for none), the scoring chains run and sampled (by profile when more
// than one was seen), and the spans exported. scorelens-run reads these
// lines: keep their shape. runs, when the simulation counted its profile
// runs itself, gives the exact chains per profile that the spans cannot
// (the profile is named on recording spans only).
func (a *accounting) writeSummary(w io.Writer, tc tracingConfig, threshold string, runs map[string]*profileRuns) {
	switch tc.sampler {
	case samplerRatio, samplerParentRatio:
		if threshold == "" {
			fmt.Fprintf(w, "sampler: %s %g samples nothing\n", tc.sampler, tc.samplerArg)
			break
		}
		th, err := sampling.ParseThreshold(threshold)
		if err != nil { // cannot happen: the sampler wrote it
			break
		}
		fmt.Fprintf(w, "sampler: %s %g, writes ot=th:%s (probability %g, adjusted count %g)\n",
			tc.sampler, tc.samplerArg, threshold, th.Probability(), th.AdjustedCount())
	default:
		fmt.Fprintf(w, "sampler: %s (no threshold written)\n", tc.sampler)
	}
	a.mu.Lock()
	var total, sampled uint64
	profiles := make([]string, 0, len(a.chains))
	for p, n := range a.chains {
		total += n.total(a.byRuns)
		sampled += n.chainsSampled
		profiles = append(profiles, p)
	}
	slices.Sort(profiles)
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(sampled) / float64(total)
	}
	fmt.Fprintf(w, "scoring chains: %d, sampled %d (%.2f%%)\n", total, sampled, pct)
	if len(runs) > 0 {
		for _, p := range slices.Sorted(maps.Keys(runs)) {
			fmt.Fprintf(w, "  profile %s: %d, sampled %d\n", p, runs[p].runs, runs[p].sampled)
		}
		profiles = nil
	} else if n := a.chains[""]; len(profiles) == 1 && n != nil && len(a.named) > 1 {
		// Several profiles ran, but none was named at start: the totals
		// cannot be split by profile.
		fmt.Fprintf(w, "profiles: %s (named on recording spans only: true chains per profile unknown)\n",
			strings.Join(slices.Sorted(maps.Keys(a.named)), ", "))
	}
	for _, p := range profiles {
		if p == "" && len(profiles) == 1 {
			break
		}
		name := p
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(w, "  profile %s: %d, sampled %d\n", name, a.chains[p].total(a.byRuns), a.chains[p].chainsSampled)
	}
	a.mu.Unlock()
	fmt.Fprintf(w, "spans: %d sampled spans ended, %d exported to %s", a.ended.Load(), a.exported.Load(), a.dest)
	if f := a.failed.Load(); f > 0 {
		fmt.Fprintf(w, ", %d in failed exports", f)
	}
	fmt.Fprintln(w)
}
