package main

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/scorelens/scorelens/scheduler/cmd/eppsim/internal/workload"
	"github.com/scorelens/scorelens/scheduler/plugins/scorer"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// decidedShares runs eppsim and returns, for calm requests and for those
// sent during a surge, the share of chains in which each scorer type was
// decisive, and the number of chains of each.
func decidedShares(t *testing.T, cfg config) (calm, surge map[string]float64, chains [2]int) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	sim, err := newSimulation(cfg, tp)
	if err != nil {
		t.Fatal(err)
	}
	// The same workload again, for which request was sent in a surge.
	_, gen, err := newFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inSurge := map[string]bool{}
	for range cfg.requests {
		r := gen.Next()
		inSurge[r.ID] = r.Surge
	}
	sim.run(context.Background())
	if sim.stats.failed > 0 {
		t.Fatalf("%d of %d requests failed: %v", sim.stats.failed, sim.stats.requests, sim.stats.firstErr)
	}
	spans := rec.Ended()
	chainSurge := map[[8]byte]bool{} // scoring span id → in a surge
	for _, s := range spans {
		if s.Name() != schema.SpanScoring {
			continue
		}
		tied := false
		for _, kv := range s.Attributes() {
			switch string(kv.Key) {
			case schema.AttrRequestID:
				sg := inSurge[kv.Value.AsString()]
				chainSurge[s.SpanContext().SpanID()] = sg
				chains[map[bool]int{false: 0, true: 1}[sg]]++
			case schema.AttrScoringTied:
				tied = kv.Value.AsInt64() >= 1
			}
		}
		if !tied {
			t.Fatalf("chain %v without %s", s.SpanContext().SpanID(), schema.AttrScoringTied)
		}
	}
	calm, surge = map[string]float64{}, map[string]float64{}
	for _, s := range spans {
		typ, ok := schema.ScorerType(s.Name())
		if !ok {
			continue
		}
		flagged := false
		for _, kv := range s.Attributes() {
			if string(kv.Key) != schema.AttrScorerDecisive {
				continue
			}
			flagged = true
			if !kv.Value.AsBool() {
				continue
			}
			if chainSurge[s.Parent().SpanID()] {
				surge[typ]++
			} else {
				calm[typ]++
			}
		}
		if !flagged {
			t.Fatalf("%s span without %s", s.Name(), schema.AttrScorerDecisive)
		}
	}
	for typ := range calm {
		calm[typ] /= float64(chains[0])
	}
	for typ := range surge {
		surge[typ] /= float64(chains[1])
	}
	return calm, surge, chains
}

// TestWhoDecides: on eppsim's workload every chain says who decided its
// pick, and in calm traffic, tenants' shared prompts make prefix affinity
// (the heaviest scorer) decide more picks than any other scorer, most of
// them. The surges' shares are logged: with eppsim's chain, queue depth,
// load-aware and KV usage agree with one another, so none of them alone
// is decisive when load overrides prefix affinity (docs/decisions.md).
func TestWhoDecides(t *testing.T) {
	cfg := config{requests: 3000, endpoints: 20, seed: 1}
	calm, surge, chains := decidedShares(t, cfg)
	t.Logf("chains: %d calm, %d in surges\ncalm:  %v\nsurge: %v", chains[0], chains[1], calm, surge)
	wc := workload.DefaultConfig(cfg.seed, nil)
	if want := cfg.requests / wc.SurgeEvery * wc.SurgeLength; chains[1] != want {
		t.Errorf("%d chains in surges, want %d", chains[1], want)
	}
	for typ, share := range calm {
		if typ != scorer.PrefixCacheType && share >= calm[scorer.PrefixCacheType] {
			t.Errorf("calm: %s decided %.3f of picks, prefix affinity %.3f: want prefix first", typ, share, calm[scorer.PrefixCacheType])
		}
	}
	if calm[scorer.PrefixCacheType] < 0.5 {
		t.Errorf("calm: prefix affinity decided %.3f of picks, want most", calm[scorer.PrefixCacheType])
	}
}
