package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/loadgen"
)

// loadConfig is the config of `make load` and of these tests: the default
// pipeline, exporting to the test's own OTLP sink.
const loadConfig = "testdata/load.yaml"

func startLoadCollector(t *testing.T, sink *loadgen.Sink) *loadgen.Collector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := loadgen.StartCollector(ctx, collectorBinary(t), loadConfig, t.TempDir(), sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop collector: %v", err)
		}
		if t.Failed() {
			t.Logf("last lines of the collector's log:\n%s", c.LogTail(40))
		}
	})
	return c
}

func startSink(t *testing.T, trackIDs bool) *loadgen.Sink {
	t.Helper()
	sink, err := loadgen.StartSink(trackIDs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Stop)
	return sink
}

// TestMalformedInput sends each malformed request to both OTLP ports: each
// is refused (a gRPC error status, an HTTP 4xx), except the one input the
// collector is known to accept (loadgen.Malformed.KnownAccepted); the
// collector stays up after every one, and good traffic still flows.
func TestMalformedInput(t *testing.T) {
	sink := startSink(t, false)
	c := startLoadCollector(t, sink)
	s, err := loadgen.Dial(c.GRPC)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cases, err := loadgen.MalformedRequests(s.Conn(), c.GRPC, c.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cases {
		t.Run(m.Port+"/"+m.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, ok := m.Send(ctx)
			t.Logf("answer: %s", out)
			switch {
			case !ok && m.KnownAccepted == "":
				t.Errorf("not refused: %s", out)
			case !ok:
				t.Logf("accepted, a known upstream limitation (%s): %s", m.KnownAccepted, out)
			}
			if !c.Alive() {
				t.Fatalf("collector exited after it (answer: %s)", out)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	good := loadgen.Batch(8, 1)
	if err := s.Export(ctx, good); err != nil {
		t.Fatalf("good request after the malformed ones: %v", err)
	}
	if err := sink.WaitSpans(int64(good.SpanCount()), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitDrained(ctx, sink, 0, 15*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestKillRestart SIGKILLs the collector under traffic and starts it again
// on the same ports: the sender, retrying retryable errors, gets every span
// acknowledged; every span the restarted collector acknowledged is
// exported; nothing is acknowledged while no collector runs. Spans the
// killed collector had acknowledged but not yet exported are lost (its
// queue is in memory): the test reports how many.
func TestKillRestart(t *testing.T) {
	sink := startSink(t, true)
	c := startLoadCollector(t, sink)
	s, err := loadgen.Dial(c.GRPC)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	type ack struct {
		first uint64
		n     int
		at    time.Time
	}
	var mu sync.Mutex
	var acks []ack
	l := &loadgen.Load{Sender: s, Rate: 2000, Spans: 10_000, BatchTraces: 8, Workers: 2, Retry: true,
		Timeout: 2 * time.Second, FirstID: 1,
		OnAck: func(first uint64, n int) {
			mu.Lock()
			acks = append(acks, ack{first, n, time.Now()})
			mu.Unlock()
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resc := make(chan loadgen.Result, 1)
	go func() { resc <- l.Run(ctx) }()

	// Kill once the collector has acknowledged some traffic.
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 5 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Proc.Kill(); err != nil {
		t.Fatal(err)
	}
	// An answer read just before the kill may be recorded a moment after.
	killed := time.Now().Add(50 * time.Millisecond)
	base := sink.Spans() // what the killed process delivered
	time.Sleep(500 * time.Millisecond)
	restarting := time.Now()
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	res := <-resc

	if res.GaveUp != 0 || res.Acked != res.Sent || res.Sent != l.Spans {
		t.Errorf("sender: sent %d of %d, acked %d, gave up on %d (first error %v)", res.Sent, l.Spans, res.Acked, res.GaveUp, res.FirstErr)
	}
	if res.Retried == 0 {
		t.Errorf("no span was retried: the kill went unnoticed by the sender")
	}
	if _, err := c.WaitDrained(ctx, sink, base, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var before, after []uint64
	for _, a := range acks {
		ids := make([]uint64, a.n)
		for i := range ids {
			ids[i] = a.first + uint64(i)
		}
		switch {
		case a.at.Before(killed):
			before = append(before, ids...)
		case a.at.Before(restarting):
			t.Errorf("spans %d..%d acknowledged while no collector ran", a.first, a.first+uint64(a.n)-1)
		default:
			after = append(after, ids...)
		}
	}
	if len(after) == 0 {
		t.Fatal("the restarted collector acknowledged nothing")
	}
	if missing, _ := sink.Missing(after); missing != 0 {
		t.Errorf("%d of the %d spans the restarted collector acknowledged never reached the sink", missing, len(after))
	}
	lost, dups := sink.Missing(before)
	t.Logf("sent %d spans, retried %d after %d retryable errors; of %d acknowledged before the kill, %d lost; %d duplicates",
		res.Sent, res.Retried, res.RetryableErrs, len(before), lost, dups)
}
