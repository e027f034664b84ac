package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// TestCommittedJSONMatchesGenerator regenerates the dashboard in memory and
// compares it with the committed file, byte for byte.
func TestCommittedJSONMatchesGenerator(t *testing.T) {
	want, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(File)
	if err != nil {
		t.Fatalf("read committed dashboard: %v (generate it with `make dashboards`)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the generator at line %d:\n committed: %s\n generated: %s\nrun `make dashboards` and commit the result", File, i+1, g, w)
			}
		}
	}
}

// TestConnectorMetricsCoverSchema holds names.go's table to the schema's
// list of connector metrics: a metric added there must get its Prometheus
// rendering here.
func TestConnectorMetricsCoverSchema(t *testing.T) {
	var got []string
	for _, m := range connectorMetrics {
		got = append(got, m.otel)
	}
	if want := schema.Metrics(); !slices.Equal(got, want) {
		t.Fatalf("connectorMetrics cover %v, schema.Metrics() is %v", got, want)
	}
}

// panelQueries returns every panel's title and query expressions from the
// dashboard JSON.
func panelQueries(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr       string `json:"expr"`
				RefID      string `json:"refId"`
				Datasource struct {
					Type string `json:"type"`
					UID  string `json:"uid"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if _, dup := out[p.Title]; dup {
			t.Errorf("two panels titled %q", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: target %q without a query or with a duplicate refId", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource.Type != "prometheus" || tg.Datasource.UID != "${"+varDatasource+"}" {
				t.Errorf("panel %q target %s: datasource %+v, want the $%s variable", p.Title, tg.RefID, tg.Datasource, varDatasource)
			}
			out[p.Title] = append(out[p.Title], tg.Expr)
		}
		if len(out[p.Title]) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
	return out
}

func TestEveryPanelHasQueries(t *testing.T) {
	b, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	q := panelQueries(t, b)
	// The panels the operator's-stack issue asks for, by title.
	for _, title := range []string{
		"Scorer latency p50 / p99", "Scorer latency heatmap", "Scorer calls per second",
		"Share of chain time per scorer", "Score distribution: mean max and mean average score",
		"Average-score heatmap", "Chain latency by model", "Chain latency by profile",
		"Candidates per request", "Processor removals by reason", "Parent join", "Cardinality",
	} {
		if len(q[title]) == 0 {
			t.Errorf("no panel %q", title)
		}
	}
}

var (
	// Names in scorelens's namespaces: the connector's series and labels,
	// and the components' own telemetry.
	ourName = regexp.MustCompile(`\b(?:llm_d_epp_|gen_ai_|otelcol_(?:processor|connector)_eppscoring_)[a-zA-Z0-9_]*`)
	// Recording-rule names (level:metric:operations).
	recordedName = regexp.MustCompile(`\b[a-z_]+:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+\b`)
	recordRule   = regexp.MustCompile(`(?m)^\s*-\s*record:\s*(\S+)\s*$`)
)

// unknownNames lists the names in text that are neither derived from
// scheduler/schema (series and labels), nor the own telemetry's, nor
// recorded by a rule.
func unknownNames(text string, recorded []string) []string {
	known := map[string]bool{}
	for _, n := range ConnectorSeries() {
		known[n] = true
	}
	for _, n := range OwnTelemetry() {
		known[n] = true
	}
	for _, n := range Labels() {
		known[n] = true
	}
	var bad []string
	// Recorded names first, then the rest without them (a recorded name
	// holds a metric name that need not exist as a series).
	for _, n := range recordedName.FindAllString(text, -1) {
		if !slices.Contains(recorded, n) {
			bad = append(bad, n)
		}
	}
	for _, n := range ourName.FindAllString(recordedName.ReplaceAllString(text, " "), -1) {
		if !known[n] {
			bad = append(bad, n)
		}
	}
	return bad
}

// yamlComment matches a YAML comment line: prose, not queries.
var yamlComment = regexp.MustCompile(`(?m)^\s*#.*$`)

const rulesDir = "../prometheus"

// TestRuleAndDashboardNames checks every metric, label and recorded name in
// the rules, their unit tests and the dashboard against the names derived
// from scheduler/schema and the components' documented telemetry, so a
// rename breaks this test rather than an operator's alert.
func TestRuleAndDashboardNames(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(rulesDir, "scorelens.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var recorded []string
	for _, m := range recordRule.FindAllStringSubmatch(string(rules), -1) {
		recorded = append(recorded, m[1])
	}
	if len(recorded) == 0 {
		t.Fatal("no recording rule found in scorelens.rules.yml")
	}
	files, err := filepath.Glob(filepath.Join(rulesDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, File)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(ourName.FindAllString(string(b), -1)); n == 0 {
			t.Errorf("%s: no scorelens name found; is the pattern stale?", f)
		}
		for _, n := range unknownNames(yamlComment.ReplaceAllString(string(b), ""), recorded) {
			t.Errorf("%s uses %q, which scheduler/schema, the components' telemetry and the recording rules do not define", f, n)
		}
	}
}

// TestUnknownNamesCatchesRenames shows the check above can fail.
func TestUnknownNamesCatchesRenames(t *testing.T) {
	recorded := []string{"scorer:llm_d_epp_scorer_calls:rate5m"}
	tests := []struct {
		expr string
		bad  []string
	}{
		{`rate(llm_d_epp_scorer_duration_seconds_bucket{llm_d_epp_scorer_type="x"}[5m])`, nil},
		{`rate(llm_d_epp_scorer_duration_bucket[5m])`, []string{"llm_d_epp_scorer_duration_bucket"}},                                 // unit suffix lost
		{`rate(llm_d_epp_scorer_calls[5m])`, []string{"llm_d_epp_scorer_calls"}},                                                     // _total lost
		{`sum by (llm_d_epp_profile_name) (x)`, []string{"llm_d_epp_profile_name"}},                                                  // label misspelt
		{`otelcol_processor_eppscoring_attributes_removed_total`, []string{"otelcol_processor_eppscoring_attributes_removed_total"}}, // the collector's own counters have no _total
		{`scorer:llm_d_epp_scorer_calls:rate1m > 0`, []string{"scorer:llm_d_epp_scorer_calls:rate1m"}},                               // not recorded
		{`scorer:llm_d_epp_scorer_calls:rate5m > 0`, nil},
	}
	for _, tt := range tests {
		if got := unknownNames(tt.expr, recorded); !slices.Equal(got, tt.bad) {
			t.Errorf("unknownNames(%q) = %q, want %q", tt.expr, got, tt.bad)
		}
	}
}

// TestOwnTelemetryDocumented holds OwnTelemetry to the components'
// documentation.md, both ways.
func TestOwnTelemetryDocumented(t *testing.T) {
	var docs string
	for _, f := range []string{
		"../../processor/eppscoringprocessor/documentation.md",
		"../../processor/eppscoringconnector/documentation.md",
	} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs += string(b)
	}
	documented := map[string]bool{}
	for _, n := range regexp.MustCompile(`otelcol_(?:processor|connector)_eppscoring_[a-z_]+`).FindAllString(docs, -1) {
		documented[n] = true
	}
	ours := map[string]bool{}
	for _, n := range OwnTelemetry() {
		ours[n] = true
		if !documented[n] {
			t.Errorf("%s is not in the components' documentation.md", n)
		}
	}
	for n := range documented {
		if !ours[n] {
			t.Errorf("documentation.md lists %s; add it to OwnTelemetry", n)
		}
	}
}

func TestUnescapeHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"a \u003e 0 \u0026\u0026 b \u003c 1"`, `"a > 0 && b < 1"`},
		{`"a\\u003e"`, `"a\\u003e"`}, // an escaped backslash, then text
		{`"\"\u003e\""`, `"\">\""`},
		{`"\u00e9"`, `"\u00e9"`},
		{`"\`, `"\`},
	}
	for _, tt := range tests {
		got := unescapeHTML([]byte(tt.in))
		if string(got) != tt.want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", tt.in, got, tt.want)
		}
		if json.Valid([]byte(tt.in)) {
			var a, b any
			if json.Unmarshal([]byte(tt.in), &a) != nil || json.Unmarshal(got, &b) != nil || a != b {
				t.Errorf("unescapeHTML(%s) changed the JSON value: %v vs %v", tt.in, a, b)
			}
		}
	}
}
