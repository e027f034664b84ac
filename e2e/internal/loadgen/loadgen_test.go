package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/scorelens/scorelens/scheduler/schema"
)

func TestBatchMix(t *testing.T) {
	td := Batch(40, 1000)
	if got, want := td.SpanCount(), 40*TraceSpans; got != want {
		t.Fatalf("spans = %d, want %d", got, want)
	}
	seen := map[uint64]bool{}
	var scoring, scorer int
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for _, s := range spans.All() {
		id := SpanID(s)
		if id < 1000 || id >= 1000+uint64(spans.Len()) || seen[id] {
			t.Fatalf("span id %d out of [1000, %d) or repeated", id, 1000+spans.Len())
		}
		seen[id] = true
		switch schema.Classify(s.Name()) {
		case schema.Scoring:
			scoring++
		case schema.Scorer:
			scorer++
		}
	}
	if scoring != 40 || scorer != 40*len(Scorers) {
		t.Errorf("scoring spans %d, scorer spans %d; want 40 and %d", scoring, scorer, 40*len(Scorers))
	}
	if 5*(scoring+scorer) != spans.Len() {
		t.Errorf("%d schema spans of %d: not a fifth", scoring+scorer, spans.Len())
	}
}

// TestSendToSink round-trips Load through a real OTLP/gRPC server: the
// sink counts every acknowledged span exactly once.
func TestSendToSink(t *testing.T) {
	sink, err := StartSink(true)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Stop()
	s, err := Dial(sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := &Load{Sender: s, Rate: 20_000, Spans: 5 * 4 * TraceSpans, BatchTraces: 4, Workers: 2, Timeout: 5 * time.Second,
		FirstID: 1, KeepAcked: true}
	res := l.Run(context.Background())
	if res.Acked != l.Spans || res.Sent != l.Spans || res.GaveUp != 0 {
		t.Fatalf("result %+v", res)
	}
	missing, dups := sink.Missing(res.AckedIDs)
	if missing != 0 || dups != 0 || sink.Spans() != l.Spans {
		t.Errorf("sink: %d spans, %d missing, %d duplicates; want %d, 0, 0", sink.Spans(), missing, dups, l.Spans)
	}
	if res.NextID != 1+uint64(l.Spans) {
		t.Errorf("NextID = %d, want %d", res.NextID, 1+l.Spans)
	}
}

// A stopped receiver is a retryable failure; with Retry off the sender
// gives up and says so.
func TestUnreachableIsRetryable(t *testing.T) {
	sink, err := StartSink(false)
	if err != nil {
		t.Fatal(err)
	}
	addr := sink.Addr()
	sink.Stop()
	s, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := &Load{Sender: s, Spans: TraceSpans, BatchTraces: 1, Workers: 1, Timeout: time.Second, FirstID: 1}
	res := l.Run(context.Background())
	if res.Acked != 0 || res.GaveUp != TraceSpans || res.RetryableErrs != 1 || !Retryable(res.FirstErr) {
		t.Errorf("result %+v, want one retryable error and the batch given up", res)
	}
}
