package e2e

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// upstreamFixtureDir holds traces that upstream EPP's own code emitted (its
// README says how they were made): the traffic our users have.
const upstreamFixtureDir = "../testdata/upstream-epp"

// fixtureSpan is one span of a fixture with its instrumentation scope.
type fixtureSpan struct {
	ptrace.Span
	scope string
}

func readFixture(t *testing.T, path string) []ptrace.Traces {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var batches []ptrace.Traces
	var u ptrace.JSONUnmarshaler
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		td, err := u.UnmarshalTraces(sc.Bytes())
		if err != nil {
			t.Fatalf("%s line %d: %v", path, len(batches)+1, err)
		}
		batches = append(batches, td)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(batches) == 0 {
		t.Fatalf("%s: no export requests", path)
	}
	return batches
}

func fixtureSpans(batches []ptrace.Traces) []fixtureSpan {
	var out []fixtureSpan
	for _, td := range batches {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					out = append(out, fixtureSpan{Span: s, scope: ss.Scope().Name()})
				}
			}
		}
	}
	return out
}

// defaultScope says whether the processor's default config puts a span in
// scope: the schema spans, upstream's scheduling span names, and every span
// of upstream EPP's instrumentation scopes and of our scheduler's.
func defaultScope(s fixtureSpan) bool {
	return inScope(s.Name()) || strings.HasPrefix(s.scope, schema.UpstreamScopePrefix) || s.scope == schema.ScopeScheduler
}

// fleetOf collects the endpoint identities a fixture itself holds, from
// every key upstream is known to put them under: the picker's endpoint ids
// ("namespace/pod-rank-N") and the pod names in them, the P/D prefill pod's
// IP and IP:port, the encode endpoints' and the P/D sidecar's host:port.
func fleetOf(t *testing.T, spans []fixtureSpan) []string {
	t.Helper()
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" {
			seen[id] = true
		}
	}
	hostPort := func(hp string) {
		add(hp)
		if i := strings.LastIndexByte(hp, ':'); i > 0 {
			add(strings.Trim(hp[:i], "[]"))
		}
	}
	for _, s := range spans {
		a := s.Attributes()
		if v, ok := a.Get(schema.AttrPickerTopEndpoints); ok {
			for _, e := range v.Slice().All() {
				id := e.Str()
				add(id)
				pod := id[strings.IndexByte(id, '/')+1:]
				if i := strings.LastIndex(pod, "-rank-"); i > 0 {
					pod = pod[:i]
				}
				add(pod)
			}
		}
		if v, ok := a.Get(schema.AttrPDPrefillPodAddress); ok {
			ip := v.Str()
			add(ip)
			if p, ok := a.Get(schema.AttrPDPrefillPodPort); ok {
				add(ip + ":" + p.Str())
				add("[" + ip + "]:" + p.Str())
			}
		}
		if v, ok := a.Get(schema.AttrEncodeEndpoints); ok {
			for _, hp := range strings.Split(v.Str(), ",") {
				hostPort(strings.TrimSpace(hp))
			}
		}
		for _, k := range []string{schema.AttrPDProxyPrefillTarget, schema.AttrPDProxyDecodeTarget, schema.AttrPDProxyDeniedTarget} {
			if v, ok := a.Get(k); ok {
				hostPort(v.Str())
			}
		}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// scorerSeriesKey is what the connector's scorer series are checked by.
type scorerSeriesKey struct{ typ, name, model string }

// expectedSeries derives from a fixture what the connector must count:
// every scorer span under its type, name and its parent scoring span's
// model, and every scoring span (chain) under its model.
func expectedSeries(spans []fixtureSpan) (scorers map[scorerSeriesKey]int, chains map[string]int) {
	model := map[pcommon.SpanID]string{}
	for _, s := range spans {
		if schema.Classify(s.Name()) == schema.Scoring {
			v, _ := s.Attributes().Get(schema.AttrRequestModel)
			model[s.SpanID()] = v.Str()
		}
	}
	scorers, chains = map[scorerSeriesKey]int{}, map[string]int{}
	for _, s := range spans {
		switch schema.Classify(s.Name()) {
		case schema.Scoring:
			chains[model[s.SpanID()]]++
		case schema.Scorer:
			k := scorerSeriesKey{model: model[s.ParentSpanID()]}
			k.typ, _ = schema.ScorerType(s.Name())
			if v, ok := s.Attributes().Get(schema.AttrScorerType); ok {
				k.typ = v.Str()
			}
			if v, ok := s.Attributes().Get(schema.AttrScorerName); ok {
				k.name = v.Str()
			}
			scorers[k]++
		}
	}
	return scorers, chains
}

// TestUpstreamTraffic replays every fixture of upstream EPP's own traces
// through the built collector, one OTLP/HTTP protobuf POST per export
// request upstream's SDK made, and checks what leaves it: no endpoint
// identity of the fixture's fleet anywhere in any exported span, every span
// exported, every scorer type's series with the model joined and counting
// exactly the fixture's spans, and the processor's own counters equal to
// what it removed.
func TestUpstreamTraffic(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(upstreamFixtureDir, "*.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no fixtures in %s", upstreamFixtureDir)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) { replayFixture(t, path) })
	}
}

func replayFixture(t *testing.T, path string) {
	batches := readFixture(t, path)
	sent := fixtureSpans(batches)
	fleet := fleetOf(t, sent)
	// 12 endpoints, each an id and a pod name at least: a fixture whose
	// identities the test cannot find would make the leak check vacuous.
	if len(fleet) < 2*12 {
		t.Fatalf("found %d endpoint identities in the fixture, want at least 24: %v", len(fleet), fleet)
	}
	byKey := make(map[[24]byte]fixtureSpan, len(sent))
	for _, s := range sent {
		byKey[spanKey(s.Span)] = s
	}

	c := startCollector(t)
	// Marshal every request before the first POST: the originals stay
	// untouched for the comparison below.
	for _, td := range batches {
		cp := ptrace.NewTraces()
		td.CopyTo(cp)
		postTraces(t, c.http, cp)
	}

	var got []span
	eventually(t, 60*time.Second, "every span of the fixture exported", func() (bool, string) {
		got = c.exportedSpans(t)
		return len(got) == len(sent), strconv.Itoa(len(got)) + " of " + strconv.Itoa(len(sent)) + " spans exported"
	})

	// Span by span: nothing lost, nothing renamed, no identity left; what
	// went is what the processor says it removed.
	var checked, removed, prefill int
	removedKeys := map[string]int{}
	names := map[string]int{}
	for _, s := range got {
		orig, ok := byKey[spanKey(s.Span)]
		if !ok {
			t.Errorf("exported span %s was never sent", s.Name())
			continue
		}
		delete(byKey, spanKey(s.Span))
		names[s.Name()]++
		if s.Name() != orig.Name() {
			t.Errorf("span %s renamed to %s", orig.Name(), s.Name())
		}
		for _, leak := range endpointLeaks(s, fleet) {
			t.Errorf("span %s (scope %s): %s", s.Name(), orig.scope, leak)
		}
		for _, e := range s.Links().All() {
			walkStrings(e.Attributes(), func(k, v string) {
				for _, id := range fleet {
					if strings.Contains(k, id) || strings.Contains(v, id) {
						t.Errorf("span %s link: %s=%q names %q", s.Name(), k, v, id)
					}
				}
			})
		}
		if _, ok := orig.Attributes().Get(schema.AttrPDPrefillPodAddress); ok {
			prefill++
		}
		before, after := orig.Attributes().AsRaw(), s.Attributes().AsRaw()
		if !defaultScope(orig) {
			if !reflect.DeepEqual(before, after) {
				t.Errorf("span %s of scope %q is out of scope and changed:\n got %v\nwant %v", s.Name(), orig.scope, after, before)
			}
			continue
		}
		checked++
		gone := 0
		for k, v := range before {
			w, ok := after[k]
			switch {
			case !ok:
				gone++
				removedKeys[k]++
			case !reflect.DeepEqual(v, w):
				t.Errorf("span %s: %s changed from %v to %v", s.Name(), k, v, w)
			}
		}
		removed += gone
		summary, hasSummary := after[schema.AttrRedactedCount]
		switch {
		case gone > 0 && summary != int64(gone):
			t.Errorf("span %s lost %d attributes, its %s says %v", s.Name(), gone, schema.AttrRedactedCount, summary)
		case gone == 0 && hasSummary:
			t.Errorf("span %s lost nothing but carries %s=%v", s.Name(), schema.AttrRedactedCount, summary)
		}
	}
	for _, s := range byKey {
		t.Errorf("span %s (scope %s) was sent but not exported", s.Name(), s.scope)
	}
	wantNames := map[string]int{}
	for _, s := range sent {
		wantNames[s.Name()]++
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("exported spans by name:\n got %v\nwant %v", names, wantNames)
	}
	if strings.Contains(path, "disagg") && prefill == 0 {
		t.Errorf("the P/D fixture holds no %s: the fixture changed", schema.AttrPDPrefillPodAddress)
	}
	if removedKeys[schema.AttrPDPrefillPodAddress] != prefill {
		t.Errorf("%s removed from %d spans, want every one of the %d that carried it", schema.AttrPDPrefillPodAddress, removedKeys[schema.AttrPDPrefillPodAddress], prefill)
	}
	t.Logf("%d spans exported, %d in scope checked, %d attributes removed %v, %d identities searched",
		len(got), checked, removed, removedKeys, len(fleet))

	// The connector: every scorer type of the fixture has its series, with
	// the model joined from the parent, counting exactly the fixture's spans;
	// chains likewise per model.
	wantScorers, wantChains := expectedSeries(sent)
	types := map[string]bool{}
	for k := range wantScorers {
		types[k.typ] = true
		if k.model == "" {
			t.Fatalf("fixture scorer span %v has no parent model: the fixture changed", k)
		}
	}
	scoringMetric := otelcol.PromName(schema.MetricScoringDuration) + "_seconds"
	eventually(t, 30*time.Second, "scorer and chain series count the fixture's spans, with the model", func() (bool, string) {
		fams := c.scrape(t, c.metricsURL)
		rows, err := fams.HistogramBy(scorerMetric, typeLabel, nameLabel, modelLabel)
		if err != nil {
			return false, err.Error()
		}
		gotScorers := map[scorerSeriesKey]int{}
		for _, r := range rows {
			gotScorers[scorerSeriesKey{r.Labels[0], r.Labels[1], r.Labels[2]}] = int(r.Count)
		}
		chainRows, err := fams.HistogramBy(scoringMetric, modelLabel)
		if err != nil {
			return false, err.Error()
		}
		gotChains := map[string]int{}
		for _, r := range chainRows {
			gotChains[r.Labels[0]] = int(r.Count)
		}
		if !reflect.DeepEqual(gotScorers, wantScorers) || !reflect.DeepEqual(gotChains, wantChains) {
			return false, fmt.Sprintf("scorers %v (want %v), chains %v (want %v)", gotScorers, wantScorers, gotChains, wantChains)
		}
		return true, ""
	})
	t.Logf("%d scorer types, %d scorer series, chains by model %v", len(types), len(wantScorers), wantChains)

	// The processor's own counters: every span in scope checked, and the
	// removals, all of endpoint values, equal to what went missing.
	eventually(t, 10*time.Second, "processor counters match what was removed", func() (bool, string) {
		own := c.scrape(t, c.ownURL)
		gotChecked := counter(own, processorPrefix+"spans_checked", nil)
		gotRemoved := counter(own, processorPrefix+"attributes_removed", nil)
		gotValues := counter(own, processorPrefix+"attributes_removed", map[string]string{"reason": "endpoint_value"})
		gotRenamed := counter(own, processorPrefix+"spans_renamed", nil)
		ok := int(gotChecked) == checked && int(gotRemoved) == removed && int(gotValues) == removed && gotRenamed == 0
		return ok, fmt.Sprintf("spans_checked %v (want %d), attributes_removed %v (want %d, all endpoint_value: %v), spans_renamed %v (want 0)",
			gotChecked, checked, gotRemoved, removed, gotValues, gotRenamed)
	})
}
