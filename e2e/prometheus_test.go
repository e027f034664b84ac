package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// Series names as Prometheus stores them, derived from the schema.
var (
	scorerBucket  = scorerMetric + "_bucket"
	scorerCount   = scorerMetric + "_count"
	scorerCalls   = otelcol.PromName(schema.MetricScorerCalls) + "_total"
	chainMetric   = otelcol.PromName(schema.MetricScoringDuration) + "_seconds"
	chainBucket   = chainMetric + "_bucket"
	chainCount    = chainMetric + "_count"
	removedMetric = processorPrefix + "attributes_removed" // the collector's own counters carry no _total
)

// The EPP the test's eppsim plays: its service.name becomes the series' job.
const promEPPJob = "epp-prometheus-e2e"

// promWindow is the range of the test's rate queries and of the dashboard's
// $__rate_interval: longer than the whole test, so a slow machine cannot
// push the traffic out of it.
const promWindow = "5m"

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestPrometheus scrapes the built collector with a real Prometheus server
// (the rules of deploy/prometheus loaded), drives it with eppsim and with
// spans that name endpoints, and asserts through Prometheus's HTTP query
// API: histogram_quantile over the connector's buckets agrees with the
// exposition, call rates, chain latency per model, the processor's removal
// counters and the alert they raise, the recording rules on real data, and
// every query of the Grafana dashboard returns data.
func TestPrometheus(t *testing.T) {
	c := startCollector(t)
	prom := startPrometheus(t, hostOf(t, c.metricsURL), hostOf(t, c.ownURL))

	// Both targets scraped before any traffic, so counters are seen from
	// their first value on and rates cover the traffic.
	eventually(t, 30*time.Second, "both scrape targets up", func() (bool, string) {
		up, err := prom.query(`up == 1`)
		return err == nil && len(up) == 2, fmt.Sprint(up, err)
	})

	// Spans that name endpoints, twice: the removal counter appears with the
	// first round and increases with the second, as a rate needs.
	children, parents, _ := craftedTraces()
	postTraces(t, c.http, children)
	postTraces(t, c.http, parents)
	eventually(t, 30*time.Second, "Prometheus holds the processor's removals", func() (bool, string) {
		s, err := prom.query(removedMetric)
		return err == nil && len(s) > 0, fmt.Sprint(s, err)
	})

	runEppsim(t, c.grpc, []string{"OTEL_SERVICE_NAME=" + promEPPJob}, "-requests", "300", "-endpoints", "20", "-rate", "100", "-seed", "11")
	postTraces(t, c.http, children)
	postTraces(t, c.http, parents)

	// The truth: every span the collector accepted, as exported.
	var spans []span
	eventually(t, 30*time.Second, "every accepted span exported", func() (bool, string) {
		accepted := counter(c.scrape(t, c.ownURL), "otelcol_receiver_accepted_spans", nil)
		spans = c.exportedSpans(t)
		return accepted > 0 && float64(len(spans)) == accepted, fmt.Sprintf("accepted %v, exported %d", accepted, len(spans))
	})
	wantScorers := scorerSpans(spans)
	chainsByModel := map[string]int{}
	for _, s := range spans {
		if schema.Classify(s.Name()) == schema.Scoring {
			m, _ := s.Attributes().Get(schema.AttrRequestModel)
			chainsByModel[m.Str()]++
		}
	}
	fams := c.waitScorerCounts(t, wantScorers)

	// Prometheus has scraped the final counts.
	byScorer := fmt.Sprintf("%s, %s", typeLabel, nameLabel)
	eventually(t, 30*time.Second, "Prometheus's scorer counts equal the exported scorer spans", func() (bool, string) {
		s, err := prom.query(fmt.Sprintf("sum by (%s) (%s)", byScorer, scorerCount))
		if err != nil {
			return false, err.Error()
		}
		got := map[scorerKey]int{}
		for _, x := range s {
			got[scorerKey{x.Labels[typeLabel], x.Labels[nameLabel]}] = int(x.Value)
		}
		return fmt.Sprint(got) == fmt.Sprint(wantScorers), fmt.Sprintf("got %v, want %v", got, wantScorers)
	})

	t.Run("scorer quantiles", func(t *testing.T) {
		rows, err := fams.HistogramBy(scorerMetric, typeLabel, nameLabel)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			q   string
			row func(otelcol.HistRow) float64
		}{{"0.5", func(r otelcol.HistRow) float64 { return r.P50 }}, {"0.99", func(r otelcol.HistRow) float64 { return r.P99 }}} {
			// Over the cumulative counts: PromQL's histogram_quantile and
			// the exposition read by promhist must agree.
			got := map[scorerKey]float64{}
			for _, s := range prom.mustQuery(t, fmt.Sprintf("histogram_quantile(%s, sum by (le, %s) (%s))", q.q, byScorer, scorerBucket)) {
				got[scorerKey{s.Labels[typeLabel], s.Labels[nameLabel]}] = s.Value
			}
			for _, r := range rows {
				k := scorerKey{r.Labels[0], r.Labels[1]}
				want := q.row(r)
				if g, ok := got[k]; !ok || math.Abs(g-want) > 1e-9*math.Abs(want) {
					t.Errorf("p%s of %v: Prometheus %v (present %v), exposition %v", q.q, k, g, ok, want)
				}
			}
			// Over a rate, as dashboards and rules compute it.
			rated := prom.mustQuery(t, fmt.Sprintf("histogram_quantile(%s, sum by (le, %s) (rate(%s{job=%q}[%s])))", q.q, byScorer, scorerBucket, promEPPJob, promWindow))
			if len(rated) == 0 {
				t.Errorf("no rate-based p%s for job %s", q.q, promEPPJob)
			}
			for _, s := range rated {
				if !finite(s.Value) || s.Value <= 0 {
					t.Errorf("rate-based p%s of %s = %v", q.q, s.key(typeLabel, nameLabel), s.Value)
				}
			}
		}
	})

	t.Run("call rates", func(t *testing.T) {
		rates := prom.mustQuery(t, fmt.Sprintf("sum by (%s) (rate(%s{job=%q}[%s]))", byScorer, scorerCalls, promEPPJob, promWindow))
		totals := prom.mustQuery(t, fmt.Sprintf("sum by (%s) (%s)", byScorer, scorerCalls))
		got := map[scorerKey]int{}
		for _, s := range totals {
			got[scorerKey{s.Labels[typeLabel], s.Labels[nameLabel]}] = int(s.Value)
		}
		if fmt.Sprint(got) != fmt.Sprint(wantScorers) {
			t.Errorf("%s by scorer: got %v, want the exported scorer spans %v", scorerCalls, got, wantScorers)
		}
		if len(rates) < 2 {
			t.Fatalf("call rates of job %s: %v, want one per eppsim scorer", promEPPJob, rates)
		}
		for _, s := range rates {
			if !finite(s.Value) || s.Value <= 0 {
				t.Errorf("call rate of %s = %v, want > 0", s.key(typeLabel, nameLabel), s.Value)
			}
		}
	})

	t.Run("chain latency per model", func(t *testing.T) {
		got := map[string]int{}
		for _, s := range prom.mustQuery(t, fmt.Sprintf("sum by (%s) (%s)", modelLabel, chainCount)) {
			got[s.Labels[modelLabel]] = int(s.Value)
		}
		if fmt.Sprint(got) != fmt.Sprint(chainsByModel) {
			t.Errorf("chains by model: Prometheus %v, exported scoring spans %v", got, chainsByModel)
		}
		p99 := prom.mustQuery(t, fmt.Sprintf("histogram_quantile(0.99, sum by (le, %s) (rate(%s{job=%q}[%s])))", modelLabel, chainBucket, promEPPJob, promWindow))
		if len(p99) == 0 {
			t.Fatal("no chain p99 per model")
		}
		for _, s := range p99 {
			if _, ok := chainsByModel[s.Labels[modelLabel]]; !ok || !finite(s.Value) || s.Value <= 0 {
				t.Errorf("chain p99 of model %q = %v", s.Labels[modelLabel], s.Value)
			}
		}
	})

	t.Run("processor removals", func(t *testing.T) {
		var want map[string]float64
		eventually(t, 30*time.Second, "Prometheus's removals equal the collector's", func() (bool, string) {
			want = map[string]float64{}
			for _, s := range c.scrape(t, c.ownURL).WithPrefix(removedMetric) {
				want[s.Labels["reason"]] += s.Value
			}
			got := map[string]float64{}
			s, err := prom.query(fmt.Sprintf("sum by (reason) (%s)", removedMetric))
			if err != nil {
				return false, err.Error()
			}
			for _, x := range s {
				got[x.Labels["reason"]] = x.Value
			}
			return len(want) > 0 && fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("Prometheus %v, collector %v", got, want)
		})
		for reason, n := range want {
			if n <= 0 {
				t.Errorf("removals for %s = %v", reason, n)
			}
		}
		eventually(t, 30*time.Second, "ScorelensEndpointIdentityRemoved firing", func() (bool, string) {
			s, err := prom.query(`ALERTS{alertname="ScorelensEndpointIdentityRemoved", alertstate="firing"}`)
			return err == nil && len(s) > 0, fmt.Sprint(s, err)
		})
	})

	t.Run("recording rules", func(t *testing.T) {
		// Every recorded series exists for eppsim's traffic and holds a
		// number. Their arithmetic is promtool's unit tests' business: on
		// series a few seconds old, rate() extrapolates a sum and a count
		// differently (each toward its own zero), so a ratio of rates is
		// only exact once the series are older than the window.
		for _, rec := range []struct {
			name     string
			positive bool
		}{
			{"scorer:llm_d_epp_scorer_duration_seconds:p50_5m", true},
			{"scorer:llm_d_epp_scorer_duration_seconds:p99_5m", true},
			{"scorer:llm_d_epp_scorer_calls:rate5m", true},
			{"scorer:llm_d_epp_scorer_errors:rate5m", false},
			{"scorer:llm_d_epp_scorer_duration_seconds:chain_share_5m", true},
			{"scorer:llm_d_epp_scorer_score:max_minus_avg_15m", false},
			{"chain:llm_d_epp_scoring_duration_seconds:p99_5m", true},
			{"chain:llm_d_epp_scoring_candidate_endpoints:mean15m", true},
		} {
			var got []promSample
			eventually(t, 30*time.Second, "recorded "+rec.name+" for job "+promEPPJob, func() (bool, string) {
				var err error
				got, err = prom.query(fmt.Sprintf("%s{job=%q}", rec.name, promEPPJob))
				return err == nil && len(got) > 0, fmt.Sprint(got, err)
			})
			for _, s := range got {
				if !finite(s.Value) || rec.positive && s.Value <= 0 {
					t.Errorf("%s{%s} = %v", rec.name, s.key(typeLabel, nameLabel, modelLabel), s.Value)
				}
			}
		}
		// The invariants those rules rest on, on the cumulative totals:
		// scorer spans nest inside their chain's span (shares add up to at
		// most 1), and an invocation's max score is at least its average.
		shares := prom.mustQuery(t, fmt.Sprintf(
			"sum by (job, %[1]s) (%[2]s_sum) / on (job, %[1]s) sum by (job, %[1]s) (%[3]s_sum)", modelLabel, scorerMetric, chainMetric))
		if len(shares) == 0 {
			t.Error("no scorer-to-chain time ratio")
		}
		for _, s := range shares {
			if !finite(s.Value) || s.Value <= 0 || s.Value > 1+1e-9 {
				t.Errorf("scorers' share of chain time for %s = %v, want in (0, 1]", s.key("job", modelLabel), s.Value)
			}
		}
		maxMetric, avgMetric := otelcol.PromName(schema.MetricScorerScoreMax), otelcol.PromName(schema.MetricScorerScoreAvg)
		spread := prom.mustQuery(t, fmt.Sprintf("sum by (%[1]s) (%[2]s_sum) / sum by (%[1]s) (%[2]s_count) - sum by (%[1]s) (%[3]s_sum) / sum by (%[1]s) (%[3]s_count)",
			byScorer+", job, "+modelLabel, maxMetric, avgMetric))
		if len(spread) == 0 {
			t.Error("no score spread")
		}
		for _, s := range spread {
			if !finite(s.Value) || s.Value < -1e-9 || s.Value > 1+1e-9 {
				t.Errorf("mean max minus mean average score of %s = %v, want in [0, 1]", s.key("job", typeLabel, nameLabel, modelLabel), s.Value)
			}
		}
	})

	t.Run("dashboard queries", func(t *testing.T) { checkDashboard(t, prom) })
}

// dashboardFile is the committed Grafana dashboard (deploy/grafana checks
// that it matches its generator).
const dashboardFile = "../deploy/grafana/scorelens.json"

var labelValuesCall = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// checkDashboard runs every panel's queries and every variable's query of
// the committed dashboard against Prometheus, the variables set to All
// (.*) and $__rate_interval to promWindow: each must execute, each panel
// must return data, each variable must offer values.
func checkDashboard(t *testing.T, prom *promServer) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	pairs := []string{"$__rate_interval", promWindow}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			pairs = append(pairs, "$"+v.Name, ".*")
		}
	}
	subst := strings.NewReplacer(pairs...)

	panels := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		panels++
		series := 0
		for _, tg := range p.Targets {
			expr := subst.Replace(tg.Expr)
			if strings.Contains(expr, "$") {
				t.Errorf("panel %q %s: unsubstituted variable in %s", p.Title, tg.RefID, expr)
				continue
			}
			var s []promSample
			eventually(t, 30*time.Second, fmt.Sprintf("panel %q query %s executes", p.Title, tg.RefID), func() (bool, string) {
				s, err = prom.query(expr)
				return err == nil, fmt.Sprint(err)
			})
			series += len(s)
		}
		if series == 0 {
			t.Errorf("panel %q: no query returned data", p.Title)
		}
	}
	if panels < 10 {
		t.Errorf("checked %d panels; the dashboard has more", panels)
	}

	vars := 0
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		vars++
		q, _ := v.Query.(string)
		m := labelValuesCall.FindStringSubmatch(subst.Replace(q))
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q)
			continue
		}
		vals, err := prom.labelValues(m[1], m[2])
		if err != nil || len(vals) == 0 {
			t.Errorf("variable %s (%s): values %v, %v", v.Name, q, vals, err)
		}
		if v.Name == "job" && !strings.Contains(strings.Join(vals, ","), promEPPJob) {
			t.Errorf("variable job offers %v, without the EPP's service.name %s (honor_labels)", vals, promEPPJob)
		}
	}
	if vars != 3 {
		t.Errorf("dashboard has %d query variables, want 3 (job, model, scorer)", vars)
	}
}
