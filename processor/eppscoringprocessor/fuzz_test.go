package eppscoringprocessor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

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
// golden inputs, written by TestGolden -update) replays under plain `go test`.
func FuzzProcessTraces(f *testing.F) {
	f.Fuzz(checkProcessTraces)
}

func checkProcessTraces(t *testing.T, data []byte) {
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(data)
	if err != nil {
		return
	}
	// Report mode reads only: on read-only data it must neither panic
	// (a write would) nor change a byte.
	ro := ptrace.NewTraces()
	td.CopyTo(ro)
	ro.MarkReadOnly()
	want := marshalTraces(t, ro)
	reportCfg := createDefaultConfig()
	reportCfg.Mode = ModeReport
	_, err = newTestProcessor(t, reportCfg).processTraces(context.Background(), ro)
	require.NoError(t, err)
	require.Equal(t, want, marshalTraces(t, ro), "report mode changed the data")

	cfg := createDefaultConfig()
	cfg.MaxScorerTypes = 4
	spanCount := td.SpanCount()
	before := spanSnapshots(t, td)
	resourcesBefore := resourceSnapshots(t, td)

	out, err := newTestProcessor(t, cfg).processTraces(context.Background(), td)
	require.NoError(t, err)
	require.Equal(t, spanCount, out.SpanCount(), "a span was lost")
	require.Equal(t, resourcesBefore, resourceSnapshots(t, out), "resource or scope changed")

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

func marshalTraces(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	return b
}

// resourceSnapshots marshals every resource and scope without their spans:
// the processor leaves them alone.
func resourceSnapshots(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	shell := ptrace.NewTraces()
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := shell.ResourceSpans().AppendEmpty()
		rss.At(i).Resource().CopyTo(rs.Resource())
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			sss.At(j).Scope().CopyTo(rs.ScopeSpans().AppendEmpty().Scope())
		}
	}
	return marshalTraces(t, shell)
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
			wholeScope := scope.scopeInScope(sss.At(j).Scope().Name())
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				one := ptrace.NewTraces()
				spans.At(k).CopyTo(one.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty())
				name := spans.At(k).Name()
				snaps = append(snaps, spanSnapshot{
					name:    name,
					inScope: schema.Classify(name) != schema.NotSchema || wholeScope || scope.inScope(name),
					proto:   marshalTraces(t, one),
				})
			}
		}
	}
	return snaps
}

// writeFuzzSeed writes a golden input as a seed of the fuzz corpus (with
// -update only, from TestGolden).
func writeFuzzSeed(t *testing.T, name string, td ptrace.Traces) {
	t.Helper()
	require.NoError(t, os.MkdirAll(fuzzCorpusDir, 0o755))
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(marshalTraces(t, td))))
	require.NoError(t, os.WriteFile(filepath.Join(fuzzCorpusDir, "golden_"+name), buf.Bytes(), 0o644))
}
