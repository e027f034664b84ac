// Command loadgen is `make load`: it drives one otelcol-dist over OTLP/gRPC
// on loopback and prints, for this machine, the highest sustained span rate
// with zero loss, what happens at ten times that rate, what a SIGKILL and
// restart cost, and how the collector answers malformed input. Every phase
// is bounded in spans and time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/loadgen"
	"github.com/scorelens/scorelens/e2e/internal/otelcol"
)

func main() {
	bin := flag.String("collector", "otelcol-dist/otelcol-dist", "collector binary")
	config := flag.String("config", "e2e/testdata/load.yaml", "collector config (with the SCORELENS_LOAD_* variables)")
	dir := flag.String("out", "out/load", "folder for the collector logs")
	step := flag.Duration("step", 4*time.Second, "length of one rate step")
	startRate := flag.Float64("start-rate", 5000, "first rate tried, spans/s")
	maxRate := flag.Float64("max-rate", 1_280_000, "highest rate tried, spans/s")
	limitMiB := flag.Int("limit-mib", 128, "memory_limiter limit_mib of the overload phase")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r := &runner{bin: *bin, config: *config, dir: *dir}
	fmt.Printf("load: %s with %s on 127.0.0.1; traces of %d spans, a fifth scoring spans\n"+
		"%d CPUs shared with other work: load average %s at the start\n\n", *bin, *config, loadgen.TraceSpans, runtime.NumCPU(), loadgen.LoadAvg())
	maxOK := r.rates(ctx, *startRate, *maxRate, *step)
	if maxOK == 0 {
		fail(fmt.Errorf("no rate held without loss, not even %v spans/s", *startRate))
	}
	r.overload(ctx, 10*maxOK, *limitMiB, *step)
	r.kill(ctx, maxOK/2)
	r.malformed(ctx)
	fmt.Printf("\nload average %s at the end\n", loadgen.LoadAvg())
}

// overloadWorkers is how many requests the overload phase keeps in flight.
const overloadWorkers = 128

type runner struct {
	bin, config, dir string
	nextID           uint64
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}

// setup starts a sink (tracking span IDs when track is set), a collector
// exporting to it with env added to its environment, and a sender to the
// collector's OTLP/gRPC port. The caller stops all three.
func (r *runner) setup(ctx context.Context, track bool, env ...string) (*loadgen.Sink, *loadgen.Collector, *loadgen.Sender) {
	sink, err := loadgen.StartSink(track)
	if err != nil {
		fail(err)
	}
	c, err := loadgen.StartCollector(ctx, r.bin, r.config, r.dir, sink.Addr(), env...)
	if err != nil {
		sink.Stop()
		fail(err)
	}
	s, err := loadgen.Dial(c.GRPC)
	if err != nil {
		c.Stop()
		sink.Stop()
		fail(err)
	}
	return sink, c, s
}

// rates steps the rate up (doubling, then one bisection) and returns the
// highest one at which every span was acknowledged at the rate asked and
// every accepted span was exported, with the exporter's queue drained
// within two seconds of the step's end (the batch timeout is 200 ms).
func (r *runner) rates(ctx context.Context, start, limit float64, step time.Duration) float64 {
	sink, c, s := r.setup(ctx, false)
	defer sink.Stop()
	defer c.Stop()
	defer s.Close()

	fmt.Println("1. Highest sustained rate with zero loss (memory_limiter 512 MiB, batch, OTLP export to a local sink)")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "asked spans/s\tacked spans/s\tsent\tacked\tcollector accepted\texported\tsink\terrors\tdrained in\theld\t")
	var best, worst float64
	try := func(rate float64) bool {
		before, _ := c.OwnCounters(ctx)
		sinkBefore := sink.Spans()
		// Whole requests of 1000 spans: Load sends whole requests only.
		spans := (int64(rate*step.Seconds()) + 999) / 1000 * 1000
		l := &loadgen.Load{Sender: s, Rate: rate, Spans: spans, BatchTraces: 40, Workers: 8,
			Timeout: 10 * time.Second, FirstID: r.nextID}
		res := l.Run(ctx)
		r.nextID = res.NextID
		drainStart := time.Now()
		after, derr := c.WaitDrained(ctx, sink, 0, 2*time.Second)
		drain := time.Since(drainStart)
		if derr != nil {
			// Let it drain fully before the next step, unmeasured.
			after, _ = c.WaitDrained(ctx, sink, 0, 30*time.Second)
		}
		acc, exp := after.Accepted-before.Accepted, after.Sent-before.Sent
		got := sink.Spans() - sinkBefore
		ok := derr == nil && res.Acked == res.Sent && res.Sent == l.Spans && float64(res.Acked) == acc &&
			acc == exp && int64(exp) == got && res.AckedRate() >= 0.95*rate
		fmt.Fprintf(tw, "%.0f\t%.0f\t%d\t%d\t%.0f\t%.0f\t%d\t%d\t%v\t%v\t\n", rate, res.AckedRate(), res.Sent, res.Acked, acc, exp, got,
			res.RetryableErrs+res.PermanentErrs, drain.Round(10*time.Millisecond), ok)
		return ok
	}
	rate := start
	for ; rate <= limit; rate *= 2 {
		if !try(rate) {
			worst = rate
			break
		}
		best = rate
	}
	if worst > 0 && best > 0 {
		if mid := (best + worst) / 2; try(mid) {
			best = mid
		}
	}
	tw.Flush()
	fmt.Printf("=> highest sustained rate with zero loss: %.0f spans/s\n\n", best)
	return best
}

// overload sends at ten times the sustained rate, with many requests in
// flight, to a collector whose memory_limiter is set to limitMiB.
func (r *runner) overload(ctx context.Context, rate float64, limitMiB int, step time.Duration) {
	sink, c, s := r.setup(ctx, false, fmt.Sprintf("SCORELENS_LOAD_LIMIT_MIB=%d", limitMiB), fmt.Sprintf("SCORELENS_LOAD_SPIKE_MIB=%d", limitMiB/4))
	defer sink.Stop()
	defer c.Stop()
	defer s.Close()
	var peak int64
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			if u, err := otelcol.ProcUsage(c.Proc.Pid()); err == nil && u.PeakRSS > peak {
				peak = u.PeakRSS
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	l := &loadgen.Load{Sender: s, Rate: rate, Spans: int64(rate * 2 * step.Seconds()), BatchTraces: 200, Workers: overloadWorkers,
		Timeout: 10 * time.Second, FirstID: r.nextID}
	res := l.Run(ctx)
	r.nextID = res.NextID
	after, derr := c.WaitDrained(ctx, sink, 0, 60*time.Second)
	close(done)
	<-exited
	if u, err := otelcol.ProcUsage(c.Proc.Pid()); err == nil && u.PeakRSS > peak {
		peak = u.PeakRSS
	}
	limit := int64(limitMiB) << 20
	fmt.Printf("2. Ten times that rate: %.0f spans/s asked, up to %d requests of %d spans in flight, memory_limiter limit_mib %d (spike %d)\n",
		rate, overloadWorkers, 200*loadgen.TraceSpans, limitMiB, limitMiB/4)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  sender: sent %d spans, acked %d (%.0f spans/s), refused with a retryable error: %d requests, permanent errors: %d\n",
		res.Sent, res.Acked, res.AckedRate(), res.RetryableErrs, res.PermanentErrs)
	if res.FirstErr != nil {
		fmt.Fprintf(tw, "  first error the sender saw: %v (retryable: %v)\n", res.FirstErr, loadgen.Retryable(res.FirstErr))
	}
	fmt.Fprintf(tw, "  collector: accepted %.0f, refused %.0f, exported %.0f, export failures %.0f; sink received %d\n",
		after.Accepted, after.Refused, after.Sent, after.SendFailed+after.Enqueue, sink.Spans())
	fmt.Fprintf(tw, "  peak RSS %.0f MiB against limit_mib %d: %s\n", float64(peak)/(1<<20), limitMiB, verdict(peak <= limit))
	fmt.Fprintf(tw, "  memory_limiter refused (sender saw retryable errors): %s\n", verdict(res.RetryableErrs > 0 && after.Refused > 0))
	lost := after.Accepted - float64(sink.Spans())
	fmt.Fprintf(tw, "  nothing accepted lost (accepted = exported = sink, acked = accepted): %s (lost %.0f)%s\n",
		verdict(derr == nil && lost == 0 && float64(res.Acked) == after.Accepted), lost, errSuffix(derr))
	tw.Flush()
	fmt.Println()
}

// kill sends at rate with retries, SIGKILLs the collector two seconds in
// and restarts it a second later on the same ports.
func (r *runner) kill(ctx context.Context, rate float64) {
	sink, c, s := r.setup(ctx, true)
	defer sink.Stop()
	defer s.Close()
	l := &loadgen.Load{Sender: s, Rate: rate, Spans: int64(rate * 6), BatchTraces: 40, Workers: 4, Retry: true,
		Timeout: 5 * time.Second, FirstID: r.nextID, KeepAcked: true}
	lctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	resc := make(chan loadgen.Result, 1)
	go func() { resc <- l.Run(lctx) }()
	time.Sleep(2 * time.Second)
	before, _ := c.OwnCounters(ctx)
	if err := c.Proc.Kill(); err != nil {
		fail(err)
	}
	base := sink.Spans() // what the killed process delivered
	time.Sleep(time.Second)
	if err := c.Restart(ctx); err != nil {
		fail(err)
	}
	defer c.Stop()
	res := <-resc
	r.nextID = res.NextID
	_, derr := c.WaitDrained(ctx, sink, base, 30*time.Second)
	missing, dups := sink.Missing(res.AckedIDs)
	fmt.Printf("3. SIGKILL mid-run, restart after 1 s (sender at %.0f spans/s, retrying retryable errors)\n", rate)
	fmt.Printf("  sender: sent %d spans, acked %d, retried %d spans (%d retryable errors), gave up on %d\n",
		res.Sent, res.Acked, res.Retried, res.RetryableErrs, res.GaveUp)
	fmt.Printf("  before the kill the collector had accepted %.0f spans and exported %.0f\n", before.Accepted, before.Sent)
	fmt.Printf("  lost: %d acked spans never reached the sink; duplicates at the sink: %d%s\n\n", missing, dups, errSuffix(derr))
}

// malformed sends each malformed request to both OTLP ports, then checks
// the collector is up and good traffic still flows.
func (r *runner) malformed(ctx context.Context) {
	sink, c, s := r.setup(ctx, false)
	defer sink.Stop()
	defer c.Stop()
	defer s.Close()
	cases, err := loadgen.MalformedRequests(s.Conn(), c.GRPC, c.HTTP)
	if err != nil {
		fail(err)
	}
	fmt.Println("4. Malformed input")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  port\tinput\tanswer\trefused\tcollector up")
	var known []string
	for _, m := range cases {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, ok := m.Send(cctx)
		cancel()
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", m.Port, m.Name, out, verdict(ok), verdict(c.Alive()))
		if !ok && m.KnownAccepted != "" {
			known = append(known, m.Port+" "+m.Name+": "+m.KnownAccepted)
		}
	}
	tw.Flush()
	for _, k := range known {
		fmt.Printf("  known: %s\n", k)
	}
	good := loadgen.Batch(40, r.nextID)
	err = s.Export(ctx, good)
	if err == nil {
		err = sink.WaitSpans(int64(good.SpanCount()), 10*time.Second)
	}
	fmt.Printf("  good traffic afterwards: %s%s\n", verdict(err == nil), errSuffix(err))
}

func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
