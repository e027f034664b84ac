package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/scorelens/scorelens/scheduler/schema"
)

const eppsimRequests = 400

// eppsim's summary lists its fleet: "  <pod name>  <IPv4>  <picks> ...".
var fleetLine = regexp.MustCompile(`^\s+(\S+-[a-z0-9]{5})\s+(\d+\.\d+\.\d+\.\d+)\s+\d+`)

// Anything shaped like an IPv4 address: eppsim's fleet lives in 10.0.0.0/8.
var ipv4 = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)

// TestEppsimTraffic sends eppsim's scoring traces over OTLP gRPC and checks,
// from the outside, that the processor leaves its clean spans alone and the
// connector counts every scorer span exactly once.
func TestEppsimTraffic(t *testing.T) {
	c := startCollector(t)
	summary := runEppsim(t, c.grpc, nil, "-requests", strconv.Itoa(eppsimRequests), "-endpoints", "20", "-rate", "0", "-seed", "7")
	var fleet []string
	for _, line := range strings.Split(summary, "\n") {
		if m := fleetLine.FindStringSubmatch(line); m != nil {
			fleet = append(fleet, m[1], m[2])
		}
	}
	if len(fleet) != 2*20 {
		t.Fatalf("parsed %d fleet identities from eppsim's summary, want 40 (pod name and IP of 20 endpoints):\n%s", len(fleet), summary)
	}

	// eppsim exits after its exporter flushed, so the receiver's count is
	// final: wait until the file exporter holds that many spans.
	var spans []span
	eventually(t, 30*time.Second, "every accepted span exported to the file", func() (bool, string) {
		own := c.scrape(t, c.ownURL)
		accepted := counter(own, "otelcol_receiver_accepted_spans", nil)
		spans = c.exportedSpans(t)
		return accepted > 0 && float64(len(spans)) == accepted,
			"accepted " + strconv.FormatFloat(accepted, 'f', -1, 64) + ", exported " + strconv.Itoa(len(spans))
	})

	var scoring, checked int
	for _, s := range spans {
		if schema.Classify(s.Name()) == schema.Scoring {
			scoring++
		}
		if !inScope(s.Name()) {
			continue
		}
		checked++
		for _, leak := range endpointLeaks(s, fleet) {
			t.Errorf("span %s: %s", s.Name(), leak)
		}
		if ipv4.MatchString(s.Name()) {
			t.Errorf("span name %q holds an IPv4 address", s.Name())
		}
		walkStrings(s.Attributes(), func(k, v string) {
			if ipv4.MatchString(v) {
				t.Errorf("span %s: %s=%q holds an IPv4 address", s.Name(), k, v)
			}
		})
	}
	if scoring != eppsimRequests {
		t.Errorf("exported %d %s spans, want one per request (%d)", scoring, schema.SpanScoring, eppsimRequests)
	}
	// eppsim's spans are clean: nothing of the schema may be lost on the way.
	for _, s := range spans {
		kind := schema.Classify(s.Name())
		if kind == schema.NotSchema {
			continue
		}
		for _, a := range []string{schema.AttrScorerType, schema.AttrScorerName, schema.AttrScorerWeight} {
			if _, ok := s.Attributes().Get(a); kind == schema.Scorer && !ok {
				t.Errorf("scorer span %s lost %s", s.Name(), a)
			}
		}
		for _, a := range []string{schema.AttrScorerCount, schema.AttrRequestModel, schema.AttrRequestID} {
			if _, ok := s.Attributes().Get(a); kind == schema.Scoring && !ok {
				t.Errorf("scoring span lost %s", a)
			}
		}
	}

	want := scorerSpans(spans)
	if len(want) == 0 {
		t.Fatal("no scorer spans exported")
	}
	fams := c.waitScorerCounts(t, want)

	// Every scorer span waits for its parent's model: none may be left without.
	rows, err := fams.HistogramBy(scorerMetric, modelLabel)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Labels[0] == "" {
			t.Errorf("%v scorer observations lack %s: the parent join failed", r.Count, modelLabel)
		}
	}

	// The processor checked every span in scope and, on clean spans, removed nothing.
	eventually(t, 10*time.Second, "processor counted every span in scope", func() (bool, string) {
		got := counter(c.scrape(t, c.ownURL), processorPrefix+"spans_checked", nil)
		return int(got) == checked, "spans_checked " + strconv.FormatFloat(got, 'f', -1, 64) + ", want " + strconv.Itoa(checked)
	})
	own := c.scrape(t, c.ownURL)
	for _, name := range []string{"attributes_removed", "spans_renamed"} {
		if got := counter(own, processorPrefix+name, nil); got != 0 {
			t.Errorf("%s%s = %v on eppsim's clean spans, want 0 (a false positive)", processorPrefix, name, got)
		}
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
	case pcommon.ValueTypeStr:
		fn(k, v.Str())
	case pcommon.ValueTypeSlice:
		for _, e := range v.Slice().All() {
			walkValue(k, e, fn)
		}
	case pcommon.ValueTypeMap:
		walkStrings(v.Map(), fn)
	}
}

// endpointLeaks lists every place in a span (name, attribute keys and
// string values, events' too) that contains one of the identities.
func endpointLeaks(s span, identities []string) []string {
	var leaks []string
	check := func(where, text string) {
		for _, id := range identities {
			if strings.Contains(text, id) {
				leaks = append(leaks, where+" "+strconv.Quote(text)+" contains endpoint identity "+strconv.Quote(id))
			}
		}
	}
	check("name", s.Name())
	scan := func(prefix string, m pcommon.Map) {
		for k := range m.All() {
			check(prefix+"key", k)
		}
		walkStrings(m, func(k, v string) { check(prefix+k+"=", v) })
	}
	scan("", s.Attributes())
	for _, e := range s.Events().All() {
		check("event name", e.Name())
		scan("event "+e.Name()+" ", e.Attributes())
	}
	return leaks
}
