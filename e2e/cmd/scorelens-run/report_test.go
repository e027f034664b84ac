package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
)

func parseExposition(t *testing.T, text string) otelcol.Families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// Two scorers over the same bounds; queue's second bucket is empty.
const twoScorers = `# TYPE llm_d_epp_scorer_duration_seconds histogram
llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="queue-scorer",llm_d_epp_scorer_name="queue",le="1e-06"} 4
llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="queue-scorer",llm_d_epp_scorer_name="queue",le="1e-05"} 4
llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="queue-scorer",llm_d_epp_scorer_name="queue",le="+Inf"} 6
llm_d_epp_scorer_duration_seconds_sum{llm_d_epp_scorer_type="queue-scorer",llm_d_epp_scorer_name="queue"} 0.0006
llm_d_epp_scorer_duration_seconds_count{llm_d_epp_scorer_type="queue-scorer",llm_d_epp_scorer_name="queue"} 6
llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="prefix-cache-scorer",llm_d_epp_scorer_name="prefix",le="1e-06"} 0
llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="prefix-cache-scorer",llm_d_epp_scorer_name="prefix",le="1e-05"} 3
llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="prefix-cache-scorer",llm_d_epp_scorer_name="prefix",le="+Inf"} 3
llm_d_epp_scorer_duration_seconds_sum{llm_d_epp_scorer_type="prefix-cache-scorer",llm_d_epp_scorer_name="prefix"} 0.00002
llm_d_epp_scorer_duration_seconds_count{llm_d_epp_scorer_type="prefix-cache-scorer",llm_d_epp_scorer_name="prefix"} 3
`

func TestBuildReport(t *testing.T) {
	d, err := buildReport(parseExposition(t, twoScorers), "http://x/metrics", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Bounds; len(got) != 3 || got[0] != 1e-6 || got[1] != 1e-5 || got[2] != -1 {
		t.Errorf("bounds %v, want [1e-06 1e-05 -1] (+Inf as -1)", got)
	}
	want := map[string][]float64{"queue": {4, 0, 2}, "prefix": {0, 3, 0}}
	if len(d.Scorers) != 2 {
		t.Fatalf("%d scorers, want 2", len(d.Scorers))
	}
	for _, s := range d.Scorers {
		w := want[s.Name]
		if len(s.Counts) != len(w) {
			t.Fatalf("%s: counts %v, want %v", s.Name, s.Counts, w)
		}
		for i := range w {
			if s.Counts[i] != w[i] {
				t.Errorf("%s: per-bucket counts %v, want %v (not cumulative)", s.Name, s.Counts, w)
				break
			}
		}
	}
	if q := d.Scorers[1]; q.Name != "queue" || q.Calls != 6 || math.Abs(q.Mean-0.0001) > 1e-15 {
		t.Errorf("queue row %+v, want 6 calls, mean 100µs", q)
	}
}

func TestBuildReportErrors(t *testing.T) {
	if _, err := buildReport(parseExposition(t, "# TYPE other counter\nother 1\n"), "u", time.Now()); err == nil {
		t.Error("no scorer histogram: want an error")
	}
	mismatched := twoScorers + `llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="kv",llm_d_epp_scorer_name="kv",le="0.5"} 1
llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="kv",llm_d_epp_scorer_name="kv",le="+Inf"} 1
llm_d_epp_scorer_duration_seconds_sum{llm_d_epp_scorer_type="kv",llm_d_epp_scorer_name="kv"} 0.1
llm_d_epp_scorer_duration_seconds_count{llm_d_epp_scorer_type="kv",llm_d_epp_scorer_name="kv"} 1
`
	if _, err := buildReport(parseExposition(t, mismatched), "u", time.Now()); err == nil {
		t.Error("scorers with different bucket bounds: want an error")
	}
}

// TestReportTemplateEscapes: names come from spans, so they are escaped in
// the table and in the script's data.
func TestReportTemplateEscapes(t *testing.T) {
	d := reportData{Metric: "m", Bounds: []float64{1e-6, -1}, Scorers: []reportScorer{
		{Type: "t", Name: `</script><script>alert(1)</script>`, Calls: 1, Counts: []float64{1, 0}},
	}}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, d); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>alert(1)") {
		t.Error("a scorer name broke out of the page's markup")
	}
}
