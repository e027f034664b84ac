package eppscoringprocessor

import (
	"bufio"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// upstreamFixtures are the traces upstream EPP's own code emitted (see
// testdata/upstream-epp/README.md at the repository root).
const upstreamFixtures = "../../testdata/upstream-epp"

// readUpstreamFixture reads one fixture: one ptrace.Traces per JSON line,
// i.e. per export request upstream's SDK sent.
func readUpstreamFixture(t *testing.T, path string) []ptrace.Traces {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	var batches []ptrace.Traces
	var u ptrace.JSONUnmarshaler
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		td, err := u.UnmarshalTraces(sc.Bytes())
		require.NoError(t, err, "%s: line %d", path, len(batches)+1)
		batches = append(batches, td)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, batches, path)
	return batches
}

// upstreamSpan is one span of a fixture with its instrumentation scope.
type upstreamSpan struct {
	scope string
	span  ptrace.Span
}

func upstreamSpans(batches []ptrace.Traces) []upstreamSpan {
	var out []upstreamSpan
	for _, td := range batches {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					out = append(out, upstreamSpan{ss.Scope().Name(), s})
				}
			}
		}
	}
	return out
}

// endpointsOf collects the fleet's identities that a fixture itself holds:
// upstream's endpoint ids ("namespace/pod-rank-N") and the pod names in
// them, the prefill pods' IPs and IP:port.
func endpointsOf(spans []upstreamSpan) map[string]bool {
	ids := map[string]bool{}
	for _, s := range spans {
		a := s.span.Attributes()
		if v, ok := a.Get(schema.AttrPickerTopEndpoints); ok {
			for _, e := range v.Slice().All() {
				id := e.Str()
				ids[id] = true
				pod := id[strings.IndexByte(id, '/')+1:]
				if i := strings.LastIndex(pod, "-rank-"); i > 0 {
					pod = pod[:i]
				}
				ids[pod] = true
			}
		}
		if v, ok := a.Get(schema.AttrPDPrefillPodAddress); ok {
			ids[v.Str()] = true
			if p, ok := a.Get(schema.AttrPDPrefillPodPort); ok {
				ids[v.Str()+":"+p.Str()] = true
			}
		}
	}
	return ids
}

// TestUpstreamFixtures replays upstream EPP's own traces through the
// processor's default config: every span of upstream's scopes is checked,
// exactly the endpoint identities go (the picker's top endpoints, the P/D
// prefill pod's address), everything else stays, and the harness's spans
// of another scope pass byte for byte.
func TestUpstreamFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(upstreamFixtures, "*.jsonl.gz"))
	require.NoError(t, err)
	require.Len(t, paths, 2, "fixtures in %s", upstreamFixtures)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in := readUpstreamFixture(t, path)
			orig := readUpstreamFixture(t, path)
			before := upstreamSpans(orig)
			fleet := endpointsOf(before)
			require.NotEmpty(t, fleet)

			p, tel := newTelemetryProcessor(t, createDefaultConfig())
			for _, td := range in {
				_, err := p.processTraces(context.Background(), td)
				require.NoError(t, err)
			}
			after := upstreamSpans(in)
			require.Len(t, after, len(before), "a span was lost")

			var checked, removed, prefill int64
			for i, b := range before {
				a := after[i]
				require.Equal(t, b.span.Name(), a.span.Name())
				if !strings.HasPrefix(b.scope, schema.UpstreamScopePrefix) {
					assert.Equal(t, b.span.Attributes().AsRaw(), a.span.Attributes().AsRaw(),
						"span %s of scope %q is out of scope and must not change", b.span.Name(), b.scope)
					continue
				}
				checked++
				want := b.span.Attributes().AsRaw()
				var gone int64
				for _, k := range []string{schema.AttrPickerTopEndpoints, schema.AttrPDPrefillPodAddress} {
					if _, ok := want[k]; ok {
						delete(want, k)
						gone++
					}
				}
				if _, ok := b.span.Attributes().Get(schema.AttrPDPrefillPodAddress); ok {
					prefill++
					assert.Equal(t, schema.ScopeUpstreamPlugins, b.scope)
				}
				if gone > 0 {
					want[schema.AttrRedactedCount] = gone
				}
				removed += gone
				assert.Equal(t, want, a.span.Attributes().AsRaw(), "span %s of scope %q", b.span.Name(), b.scope)
				walkStrings(a.span.Attributes(), func(k, v string) {
					for id := range fleet {
						if strings.Contains(k, id) || strings.Contains(v, id) {
							t.Errorf("span %s: %s=%q names endpoint %q", a.span.Name(), k, v, id)
						}
					}
				})
			}
			if strings.Contains(path, "disagg") {
				assert.Positive(t, prefill, "the P/D fixture has %s", schema.AttrPDPrefillPodAddress)
			}
			assertSum(t, tel, "otelcol_processor_eppscoring_spans_checked", "{span}", []metricdata.DataPoint[int64]{{Value: checked}})
			assertSum(t, tel, "otelcol_processor_eppscoring_attributes_removed", "{attribute}",
				sumPoints(map[string]int64{reasonNames[reasonEndpointValue]: removed}))
		})
	}
}

// walkStrings calls fn for every string in m, descending into slices and maps.
func walkStrings(m pcommon.Map, fn func(key, value string)) {
	for k, v := range m.All() {
		walkValue(k, v, fn)
	}
}

func walkValue(k string, v pcommon.Value, fn func(key, value string)) {
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		for _, e := range v.Slice().All() {
			walkValue(k, e, fn)
		}
	case pcommon.ValueTypeMap:
		for mk, mv := range v.Map().All() {
			walkValue(k+"."+mk, mv, fn)
		}
	default:
		fn(k, v.AsString())
	}
}
