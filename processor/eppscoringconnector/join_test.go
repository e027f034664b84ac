package eppscoringconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJoinBounds(t *testing.T) {
	// Requests with ids 10.. of four scorers each; children arrive first.
	reqs := make([]request, 40)
	for i := range reqs {
		reqs[i] = reqLlama
		reqs[i].id = byte(10 + i)
	}
	tests := []struct {
		name        string
		maxPending  int
		children    int // requests whose children arrive in batch 1
		parents     int // of those, requests whose parent arrives in batch 2
		wantMatched int64
		wantEvicted int64
		wantNoModel int64
	}{
		{name: "all_fit", maxPending: 1000, children: 40, parents: 40, wantMatched: 160},
		// Room for 10 observations: the oldest parents' children are
		// evicted; the last two requests' 8 children still wait and match.
		{name: "evicted_when_full", maxPending: 10, children: 10, parents: 10, wantMatched: 8, wantEvicted: 32, wantNoModel: 32},
		{name: "parents_partly_lost", maxPending: 1000, children: 20, parents: 5, wantMatched: 20, wantNoModel: 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.ParentJoin.MaxPending = tt.maxPending })
			td, spans := newTraces()
			for _, r := range reqs[:tt.children] {
				addChildren(spans, r)
			}
			h.consume(t, td)
			assert.LessOrEqual(t, h.c.agg.join.used, tt.maxPending)
			td, spans = newTraces()
			for _, r := range reqs[tt.children-tt.parents : tt.children] {
				addParent(spans, r)
			}
			h.consume(t, td)
			h.clk.Advance(time.Minute)
			md := h.flush(t)
			assert.Equal(t, tt.wantMatched, h.counter(t, "otelcol_connector_eppscoring_join_matched", "", ""))
			assert.Equal(t, tt.wantEvicted, h.counter(t, "otelcol_connector_eppscoring_join_unmatched", "reason", "evicted"))
			calls := scorerCalls(md)
			assert.Equal(t, tt.wantNoModel, calls[""])
			assert.Equal(t, tt.wantMatched, calls["llama-3-8b"])
			assert.Equal(t, 0, h.c.agg.join.used)
			assert.Empty(t, h.c.agg.join.heads)
		})
	}
}

func TestJoinStaleEntriesDoNotEvict(t *testing.T) {
	// max_pending 4: each batch holds one request's children, resolved by
	// the next batch. The FIFO fills with resolved entries, which must be
	// dropped rather than evicting the children still waiting.
	h := newHarness(t, func(c *Config) { c.ParentJoin.MaxPending = 4 })
	for i := 0; i < 50; i++ {
		r := reqLlama
		r.id = byte(i)
		td, spans := newTraces()
		addChildren(spans, r)
		if i > 0 {
			prev := reqLlama
			prev.id = byte(i - 1)
			addParent(spans, prev)
		}
		h.consume(t, td)
	}
	assert.EqualValues(t, 0, h.counter(t, "otelcol_connector_eppscoring_join_unmatched", "", ""))
	assert.EqualValues(t, 49*4, h.counter(t, "otelcol_connector_eppscoring_join_matched", "", ""))
	assert.LessOrEqual(t, len(h.c.agg.join.ring), 2*4)
}

func TestJoinParentSpanIDCollision(t *testing.T) {
	// Two traces whose parents share a span id: the second trace's children
	// are emitted at once, without a model, and counted as evicted.
	h := newHarness(t, nil)
	a, b := reqLlama, reqQwen
	b.id = a.id // same span ids
	td, spans := newTraces()
	addChildren(spans, a)
	h.consume(t, td)
	td, spans = newTraces()
	addChildren(spans, b)
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).SetTraceID([16]byte{0x77})
	}
	h.consume(t, td)
	assert.EqualValues(t, len(b.scorers), h.counter(t, "otelcol_connector_eppscoring_join_unmatched", "reason", "evicted"))
	td, spans = newTraces()
	addParent(spans, a)
	h.consume(t, td)
	assert.EqualValues(t, len(a.scorers), h.counter(t, "otelcol_connector_eppscoring_join_matched", "", ""))
	require.Equal(t, map[string]int64{"": 2, "llama-3-8b": 4}, scorerCalls(h.flush(t)))
}

func TestRootScorerSpanHasNoParentToWaitFor(t *testing.T) {
	h := newHarness(t, nil)
	td, spans := newTraces()
	addChildren(spans, reqQwen)
	spans.At(0).SetParentSpanID([8]byte{})
	h.consume(t, td)
	assert.EqualValues(t, 1, h.counter(t, "otelcol_connector_eppscoring_join_unmatched", "reason", "no_parent"))
	assert.EqualValues(t, 1, h.c.agg.join.used)
}

func TestParentWithBrokenTimestampsStillHandsDownItsModel(t *testing.T) {
	h := newHarness(t, nil)
	td, spans := newTraces()
	addChildren(spans, reqQwen)
	addParent(spans, reqQwen)
	spans.At(spans.Len() - 1).SetStartTimestamp(0)
	h.consume(t, td)
	assert.EqualValues(t, 1, h.counter(t, "otelcol_connector_eppscoring_spans_skipped", "reason", "invalid_duration"))
	assert.Equal(t, map[string]int64{"qwen-2-7b": 2}, scorerCalls(h.flush(t)))
}
