package eppscoringconnector

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentConsumeTraces runs batches and flushes from several
// goroutines (run it with -race); no observation may be lost or doubled.
func TestConcurrentConsumeTraces(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AggregationTemporality = "delta" })
	const workers, batches = 4, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				r := reqLlama
				r.id = byte(w*batches + i)
				// Children and parent in separate batches half of the time.
				if i%2 == 0 {
					assert.NoError(t, h.c.ConsumeTraces(context.Background(), batch(r)))
					continue
				}
				td, spans := newTraces()
				addChildren(spans, r)
				assert.NoError(t, h.c.ConsumeTraces(context.Background(), td))
				td, spans = newTraces()
				addParent(spans, r)
				assert.NoError(t, h.c.ConsumeTraces(context.Background(), td))
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			assert.NoError(t, h.c.flush(context.Background()))
		}
	}()
	wg.Wait()
	require.NoError(t, h.c.flush(context.Background()))
	total := map[string]int64{}
	for _, md := range h.sink.AllMetrics() {
		for model, n := range scorerCalls(md) {
			total[model] += n
		}
	}
	assert.Equal(t, map[string]int64{"llama-3-8b": workers * batches * 4}, total)
}
