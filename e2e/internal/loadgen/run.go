package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Load sends Batch requests from Workers goroutines at Rate spans per
// second (0: as fast as the collector answers) until Spans spans were sent
// or the context ends. With Retry, a request that failed with a retryable
// error is sent again (same spans) after a backoff, as an OTLP exporter does.
type Load struct {
	Sender      *Sender
	Rate        float64
	Spans       int64
	BatchTraces int // traces per request; TraceSpans spans each
	Workers     int
	Retry       bool
	// Timeout bounds one export call.
	Timeout time.Duration
	// FirstID is the span ID of the first span; runs that share a sink
	// must not overlap.
	FirstID uint64
	// KeepAcked keeps the span IDs of every acknowledged span in the result.
	KeepAcked bool
	// OnAck, when set, is called (from the sending goroutine) with the
	// span IDs [first, first+n) of each acknowledged request.
	OnAck func(first uint64, n int)
}

// Result is what the sender saw.
type Result struct {
	Sent          int64 // spans handed to Export the first time
	Acked         int64 // spans the collector acknowledged
	Retried       int64 // spans sent again after a retryable error
	RetryableErrs int64 // export calls answered with a retryable error
	PermanentErrs int64 // export calls answered with a permanent error (never retried)
	GaveUp        int64 // spans not acknowledged when the run ended
	Elapsed       time.Duration
	FirstErr      error
	AckedIDs      []uint64
	NextID        uint64 // the first span ID the run did not use
}

// AckedRate is the acknowledged spans per second.
func (r Result) AckedRate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Acked) / r.Elapsed.Seconds()
}

// Run runs the load; it returns when every request was acknowledged or
// given up.
func (l *Load) Run(ctx context.Context) Result {
	batchSpans := int64(l.BatchTraces * TraceSpans)
	jobs := make(chan uint64, l.Workers)
	var res Result
	var mu sync.Mutex
	var acked, retried, retryable, permanent, gaveUp atomic.Int64
	start := time.Now()

	go func() {
		defer close(jobs)
		var interval time.Duration
		if l.Rate > 0 {
			interval = time.Duration(float64(time.Second) * float64(batchSpans) / l.Rate)
		}
		next := start
		for id := l.FirstID; int64(id-l.FirstID) < l.Spans; id += uint64(batchSpans) {
			if interval > 0 {
				if d := time.Until(next); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
				next = next.Add(interval)
			}
			select {
			case jobs <- id:
			case <-ctx.Done():
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for range l.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range jobs {
				td := Batch(l.BatchTraces, first)
				mu.Lock()
				res.Sent += batchSpans
				mu.Unlock()
				backoff := 10 * time.Millisecond
				for attempt := 0; ; attempt++ {
					if attempt > 0 {
						retried.Add(batchSpans)
					}
					cctx, cancel := context.WithTimeout(ctx, l.Timeout)
					err := l.Sender.Export(cctx, td)
					cancel()
					if err == nil {
						acked.Add(batchSpans)
						if l.OnAck != nil {
							l.OnAck(first, int(batchSpans))
						}
						if l.KeepAcked {
							mu.Lock()
							for i := range uint64(batchSpans) {
								res.AckedIDs = append(res.AckedIDs, first+i)
							}
							mu.Unlock()
						}
						break
					}
					mu.Lock()
					if res.FirstErr == nil {
						res.FirstErr = err
					}
					mu.Unlock()
					if !Retryable(err) {
						permanent.Add(1)
						gaveUp.Add(batchSpans)
						break
					}
					retryable.Add(1)
					if !l.Retry || ctx.Err() != nil {
						gaveUp.Add(batchSpans)
						break
					}
					select {
					case <-time.After(backoff):
					case <-ctx.Done():
					}
					backoff = min(2*backoff, 500*time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Acked, res.Retried, res.RetryableErrs = acked.Load(), retried.Load(), retryable.Load()
	res.PermanentErrs, res.GaveUp = permanent.Load(), gaveUp.Load()
	res.NextID = l.FirstID + uint64(res.Sent)
	return res
}
