package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

var (
	decisiveMetric = otelcol.PromName(schema.MetricScorerDecisive)
	marginMetric   = otelcol.PromName(schema.MetricScoringMargin)
	tiesMetric     = otelcol.PromName(schema.MetricScoringTies)
)

// TestDecisionThroughCollector: eppsim's decision signals (over a run with
// a surge) pass the processor untouched, and the connector's decisive
// counts per scorer, tie count and margin histogram equal what the
// exported spans say, as Prometheus scrapes them.
func TestDecisionThroughCollector(t *testing.T) {
	const requests = 1000 // calm, then a surge from request 750
	c := startCollector(t)
	runEppsim(t, c.grpc, nil, "-requests", strconv.Itoa(requests), "-endpoints", "20", "-rate", "0", "-seed", "7")
	var spans []span
	eventually(t, 30*time.Second, "every accepted span exported to the file", func() (bool, string) {
		accepted := counter(c.scrape(t, c.ownURL), "otelcol_receiver_accepted_spans", nil)
		spans = c.exportedSpans(t)
		return accepted > 0 && float64(len(spans)) == accepted,
			fmt.Sprintf("accepted %v, exported %d", accepted, len(spans))
	})

	// What the spans say, after the processor.
	decisive := map[scorerKey]int{}
	var chains, ties, margins int
	for _, s := range spans {
		switch schema.Classify(s.Name()) {
		case schema.Scorer:
			v, ok := s.Attributes().Get(schema.AttrScorerDecisive)
			if !ok || v.Type() != pcommon.ValueTypeBool {
				t.Fatalf("scorer span %s without a boolean %s: %v", s.Name(), schema.AttrScorerDecisive, s.Attributes().AsRaw())
			}
			k := scorerKey{name: attrStr(s, schema.AttrScorerName)}
			k.typ = attrStr(s, schema.AttrScorerType)
			n := decisive[k] // every scorer gets a series, decisive or not
			if v.Bool() {
				n++
			}
			decisive[k] = n
		case schema.Scoring:
			chains++
			v, ok := s.Attributes().Get(schema.AttrScoringTied)
			if !ok || v.Type() != pcommon.ValueTypeInt || v.Int() < 1 {
				t.Fatalf("scoring span without %s: %v", schema.AttrScoringTied, s.Attributes().AsRaw())
			}
			if v.Int() > 1 {
				ties++
			}
			if _, ok := s.Attributes().Get(schema.AttrScoringMargin); ok {
				margins++
			}
		}
	}
	if chains != requests {
		t.Fatalf("%d chains exported, want %d", chains, requests)
	}
	total := 0
	for _, n := range decisive {
		total += n
	}
	if total == 0 || margins == 0 {
		t.Fatalf("no decisive scorer (%v) or no margin (%d) in %d chains: nothing to check", decisive, margins, chains)
	}
	t.Logf("%d chains: decisive %v, %d ties, %d margins", chains, decisive, ties, margins)

	c.waitScorerCounts(t, scorerSpans(spans))
	eventually(t, 30*time.Second, "decision metrics equal the exported spans", func() (bool, string) {
		fams := c.scrape(t, c.metricsURL)
		got := map[scorerKey]int{}
		for k := range decisive {
			got[k] = int(counter(fams, decisiveMetric, map[string]string{typeLabel: k.typ, nameLabel: k.name}))
		}
		gotTies := int(counter(fams, tiesMetric, nil))
		rows, err := fams.HistogramBy(marginMetric)
		if err != nil {
			return false, err.Error()
		}
		gotMargins := 0
		for _, r := range rows {
			gotMargins += int(r.Count)
		}
		if fmt.Sprint(got) != fmt.Sprint(decisive) || gotTies != ties || gotMargins != margins {
			return false, fmt.Sprintf("decisive %v ties %d margins %d; spans say %v, %d, %d", got, gotTies, gotMargins, decisive, ties, margins)
		}
		return true, ""
	})
	// Nothing of it counted as a violation by the processor.
	own := c.scrape(t, c.ownURL)
	if got := counter(own, processorPrefix+"attributes_removed", nil); got != 0 {
		t.Errorf("processor removed %v attributes from eppsim's spans", got)
	}
}

func attrStr(s span, key string) string {
	if v, ok := s.Attributes().Get(key); ok {
		return v.Str()
	}
	return ""
}
