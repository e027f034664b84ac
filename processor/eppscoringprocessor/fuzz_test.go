package eppscoringprocessor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

const fuzzCorpusDir = "testdata/fuzz/FuzzProcessTraces"

// FuzzProcessTraces feeds arbitrary OTLP protobuf to the processor. In
// report mode it must leave read-only data byte-identical. In strip mode it
// must never panic nor lose a span; afterwards no span in scope
// breaks the rule (checked by a fresh processor in report mode, i.e. the
// same detector), scorer span names stay bounded, and out-of-scope spans are
// byte-identical. The seed corpus (testdata/fuzz/FuzzProcessTraces, the
// golden inputs) replays under plain `go test`.
func FuzzProcessTraces(f *testing.F) {
	f.Fuzz(checkProcessTraces)
}

func checkProcessTraces(t *testing.T, data []byte) {
	{
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(data)
		if err != nil {
			return
		}
		// Report mode reads only: on read-only data it must neither panic
		// (a write would) nor change a byte.
		ro := ptrace.NewTraces()
		td.CopyTo(ro)
		ro.MarkReadOnly()
		want, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(ro)
		require.NoError(t, err)
		reportCfg := createDefaultConfig()
		reportCfg.Mode = ModeReport
		_, err = newTestProcessor(t, reportCfg).processTraces(context.Background(), ro)
		require.NoError(t, err)
		got, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(ro)
		require.NoError(t, err)
		require.Equal(t, want, got, "report mode changed the data")

		cfg := createDefaultConfig()
		cfg.MaxScorerTypes = 4
		spanCount := td.SpanCount()
		before := spanSnapshots(t, td)

		out, err := newTestProcessor(t, cfg).processTraces(context.Background(), td)
		require.NoError(t, err)
		require.Equal(t, spanCount, out.SpanCount(), "a span was lost")

		after := spanSnapshots(t, out)
		scorerNames := map[string]bool{}
		for i, b := range before {
			a := after[i]
			if !b.inScope {
				require.Equal(t, b.proto, a.proto, "out-of-scope span %q changed", b.name)
				continue
			}
			if schema.Classify(a.name) == schema.Scorer {
				scorerNames[a.name] = true
			}
		}
		require.LessOrEqual(t, len(scorerNames), cfg.MaxScorerTypes+1, "scorer span names unbounded: %v", scorerNames)

		checkCfg := createDefaultConfig()
		checkCfg.Mode = ModeReport
		checkCfg.MaxScorerTypes = cfg.MaxScorerTypes
		var left tally
		newTestProcessor(t, checkCfg).apply(out, &left)
		require.Zero(t, left.findings(), "rule still broken after strip: %+v", left)
	}
}

type spanSnapshot struct {
	name    string
	inScope bool
	proto   []byte
}

// spanSnapshots marshals every span on its own, in batch order (the
// processor never reorders, adds or drops spans).
func spanSnapshots(t *testing.T, td ptrace.Traces) []spanSnapshot {
	t.Helper()
	scope := newTestProcessor(t, createDefaultConfig())
	var snaps []spanSnapshot
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				one := ptrace.NewTraces()
				spans.At(k).CopyTo(one.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty())
				b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(one)
				require.NoError(t, err)
				name := spans.At(k).Name()
				snaps = append(snaps, spanSnapshot{
					name:    name,
					inScope: schema.Classify(name) != schema.NotSchema || scope.inScope(name),
					proto:   b,
				})
			}
		}
	}
	return snaps
}

// TestWriteFuzzSeeds turns the golden inputs into the fuzz seed corpus
// (with -update only).
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite " + fuzzCorpusDir)
	}
	require.NoError(t, os.MkdirAll(fuzzCorpusDir, 0o755))
	for _, tc := range goldenCases {
		td, err := golden.ReadTraces(filepath.Join("testdata", "golden", tc.name, "input.json"))
		require.NoError(t, err)
		b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
		require.NoError(t, os.WriteFile(filepath.Join(fuzzCorpusDir, "golden_"+tc.name), buf.Bytes(), 0o644))
	}
}
