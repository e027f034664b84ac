package eppscoringconnector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// FuzzConsumeTraces feeds arbitrary OTLP bytes: the connector must never
// panic and never emit a NaN or an infinity. The seed corpus lives in
// testdata/fuzz/FuzzConsumeTraces; these add the fixtures' batches.
func FuzzConsumeTraces(f *testing.F) {
	var m ptrace.ProtoMarshaler
	for _, td := range []ptrace.Traces{batch(reqLlama, reqQwen), badBatch(), mixedBatch(50, true), upstreamBatch(2), upstreamChainsOnly()} {
		b, err := m.MarshalTraces(td)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Each input gets fresh connectors with nop telemetry: state carried
	// over from earlier inputs would make coverage non-deterministic (and
	// the fuzzer minimize forever), a full harness would be too slow.
	var u ptrace.ProtoUnmarshaler
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := u.UnmarshalTraces(data)
		if err != nil {
			return
		}
		for _, expo := range []bool{false, true} {
			cfg := createDefaultConfig()
			cfg.Exemplars.Enabled = true
			cfg.AggregationCardinalityLimit = 8
			cfg.ParentJoin.MaxPending = 4
			if expo {
				cfg.Histogram.Exponential = &ExponentialHistogramConfig{MaxSize: 4}
			}
			c, err := newConnector(connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			clk := &clock{t: baseTime}
			c.now = clk.Now
			if err := c.ConsumeTraces(context.Background(), td); err != nil {
				t.Fatal(err)
			}
			// An hour later every waiting child is emitted too.
			later := baseTime.Add(time.Hour).UnixNano()
			c.agg.expirePending(later)
			assertNoNaN(t, c.agg.emit(later))
			if c.agg.join.used != 0 || c.agg.profileWaits != 0 {
				t.Fatalf("after the timeout %d observations are held, %d wait for a profile", c.agg.join.used, c.agg.profileWaits)
			}
		}
	})
}

// TestFuzzSeedCorpus checks the checked-in seeds (which `go test` replays
// through FuzzConsumeTraces): each is in the fuzz file format and, except
// the garbage one, decodes to traces holding schema spans. With -update it
// rewrites them from the fixtures' batches.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzConsumeTraces")
	if *update {
		var m ptrace.ProtoMarshaler
		seeds := map[string]ptrace.Traces{
			"valid_requests":                   batch(reqLlama, reqQwen),
			"bad_input":                        badBatch(),
			"children_only":                    func() ptrace.Traces { td, s := newTraces(); addChildren(s, reqLlama2); return td }(),
			"upstream_chains_without_profiles": upstreamChainsOnly(),
		}
		for name, td := range seeds {
			b, err := m.MarshalTraces(td)
			require.NoError(t, err)
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "garbage"), []byte("go test fuzz v1\n[]byte(\"\\x0a\\xff\\xff\\x01\\x12\")\n"), 0o600))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(entries), 4)
	var u ptrace.ProtoUnmarshaler
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		header, arg, ok := strings.Cut(strings.TrimSpace(string(raw)), "\n")
		require.True(t, ok && header == "go test fuzz v1", "%s: not a fuzz seed", e.Name())
		quoted, ok := strings.CutPrefix(arg, "[]byte(")
		require.True(t, ok, "%s: not a []byte seed", e.Name())
		data, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
		require.NoError(t, err, e.Name())
		td, err := u.UnmarshalTraces([]byte(data))
		if e.Name() == "garbage" {
			require.Error(t, err, "garbage decodes")
			continue
		}
		require.NoError(t, err, e.Name())
		assert.Positive(t, schemaSpans(td), "%s holds no schema span", e.Name())
	}
}

// upstreamChainsOnly is upstream's disaggregated request without its
// run_scheduler_profile spans, with sampling thresholds, one malformed: the
// chains wait for a profile that never comes.
func upstreamChainsOnly() ptrace.Traces {
	td, spans := newUpstreamSpans()
	u := disaggTrace
	for _, c := range u.chains {
		u.addScorers(spans, c)
		u.addScoring(spans, c)
	}
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).TraceState().FromRaw([]string{"ot=th:8", "ot=th:zz"}[i%2])
	}
	return td
}

func schemaSpans(td ptrace.Traces) int {
	n := 0
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				if schema.Classify(sp.Name()) != schema.NotSchema {
					n++
				}
			}
		}
	}
	return n
}
