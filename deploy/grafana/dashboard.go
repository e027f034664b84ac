// Package dashboards is scorelens's Grafana dashboard as code, written with
// Grafana's foundation SDK. `make dashboards` writes it to scorelens.json,
// which is committed: import that file into Grafana (Dashboards > New >
// Import) and pick the Prometheus data source that scrapes otelcol-dist.
//
// Every metric and label name in the queries is derived from
// scheduler/schema (names.go), so a rename there changes the dashboard, and
// the committed JSON no longer matches until it is regenerated.
package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// File is the committed dashboard's file name, in deploy/grafana.
const File = "scorelens.json"

// UID is the dashboard's stable uid: links and provisioning refer to it.
const UID = "scorelens-scoring"

// Template variables. Every query filters with =~ so that the "All" value
// (.*) also matches series without the label (a scorer span whose model
// never arrived has gen_ai_request_model="").
const (
	varDatasource = "datasource"
	varJob        = "job"
	varModel      = "model"
	varScorer     = "scorer"
)

var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + varDatasource + "}")}

// Label selectors of the chain's and the scorers' series.
var (
	chainSel  = fmt.Sprintf(`job=~"$%s", %s=~"$%s"`, varJob, labelModel, varModel)
	scorerSel = fmt.Sprintf(`%s, %s=~"$%s"`, chainSel, labelName, varScorer)
)

const rateWindow = "$__rate_interval"

// rate, sum and quantile helpers keep the queries readable.
func rate(metric, sel string) string {
	return fmt.Sprintf("rate(%s{%s}[%s])", metric, sel, rateWindow)
}

func sumBy(labels, expr string) string { return fmt.Sprintf("sum by (%s) (%s)", labels, expr) }

// positive keeps a denominator's series with traffic in the window only, so
// an idle series divides into no point rather than NaN (as the rules do).
func positive(expr string) string { return "(" + expr + " > 0)" }

func quantile(q, labels, bucket, sel string) string {
	return fmt.Sprintf("histogram_quantile(%s, %s)", q, sumBy(labels+", le", rate(bucket, sel)))
}

func query(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).LegendFormat(legend).Datasource(datasource)
}

func heatmapQuery(ref, bucket, sel string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).
		Expr(sumBy("le", fmt.Sprintf("increase(%s{%s}[%s])", bucket, sel, rateWindow))).
		Format(prometheus.PromQueryFormatHeatmap).LegendFormat("{{le}}").Datasource(datasource)
}

func series(title, desc, unit string, w uint32, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Description(desc).Unit(unit).
		Datasource(datasource).Height(8).Span(w).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).ShowLegend(true).Calcs([]string{"mean", "max"}))
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

func heat(title, desc, unit string, target *prometheus.DataqueryBuilder) *heatmap.PanelBuilder {
	return heatmap.NewPanelBuilder().Title(title).Description(desc).Datasource(datasource).
		Height(8).Span(12).Calculate(false).
		YAxis(heatmap.NewYAxisConfigBuilder().Unit(unit)).
		Color(heatmap.NewHeatmapColorOptionsBuilder().Mode(heatmap.HeatmapColorModeScheme).Scheme("Oranges").Steps(64)).
		CellValues(heatmap.NewCellValuesBuilder().Unit("short")).
		WithTarget(target)
}

func variable(name, label, metric, sel, labelName string) *dashboard.QueryVariableBuilder {
	q := fmt.Sprintf("label_values(%s, %s)", metric, labelName)
	if sel != "" {
		q = fmt.Sprintf("label_values(%s{%s}, %s)", metric, sel, labelName)
	}
	return dashboard.NewQueryVariableBuilder(name).Label(label).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
		Datasource(datasource).Multi(true).IncludeAll(true).AllValue(".*").
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
		}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
}

// Build returns the scorelens dashboard.
func Build() (dashboard.Dashboard, error) {
	scorerBy := fmt.Sprintf("%s, %s, %s", labelProfile, labelType, labelName)
	scorerLegend := fmt.Sprintf("{{%s}} {{%s}}", labelName, labelProfile)
	profileModel := fmt.Sprintf("%s, %s", labelModel, labelProfile)

	b := dashboard.NewDashboardBuilder("scorelens: EPP scoring path").
		Uid(UID).
		Description("Scorer and chain latency, call rates, score distributions and the collector's rule enforcement, "+
			"from otelcol-dist's eppscoring connector and its own telemetry.").
		Tags([]string{"scorelens", "llm-d", "epp", "opentelemetry"}).
		Editable().
		Refresh("30s").
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder(varDatasource).Label("Data source").Type("prometheus")).
		WithVariable(variable(varJob, "EPP (job)", scorerCalls, "", "job")).
		WithVariable(variable(varModel, "Model", scorerCalls, fmt.Sprintf(`job=~"$%s"`, varJob), labelModel)).
		WithVariable(variable(varScorer, "Scorer", scorerCalls, chainSel, labelName))

	b.WithRow(dashboard.NewRowBuilder("Scorers")).
		WithPanel(series("Scorer latency p50 / p99",
			"Per scorer (and scheduling profile): the median and the 99th percentile of one invocation's duration, "+
				"interpolated inside the connector's histogram buckets.", "s", 12,
			query("A", quantile("0.5", scorerBy, scorerDuration+"_bucket", scorerSel), scorerLegend+" p50"),
			query("B", quantile("0.99", scorerBy, scorerDuration+"_bucket", scorerSel), scorerLegend+" p99"))).
		WithPanel(heat("Scorer latency heatmap",
			"Invocations of the selected scorers per duration bucket over time.", "s",
			heatmapQuery("A", scorerDuration+"_bucket", scorerSel))).
		WithPanel(series("Scorer calls per second",
			"Invocations per second per scorer, and those whose span ended in error.", "ops", 12,
			query("A", sumBy(scorerBy, rate(scorerCalls, scorerSel)), scorerLegend),
			query("B", sumBy(scorerBy, rate(scorerErrors, scorerSel)), scorerLegend+" errors"))).
		WithPanel(series("Share of chain time per scorer",
			"Each scorer's time as a fraction of its chain's (same model and profile): the ratio of the two "+
				"duration sums' rates. What is left to 100% is the chain's own work between scorers.", "percentunit", 12,
			query("A", fmt.Sprintf("%s\n/ on (%s) group_left ()\n%s",
				sumBy(scorerBy, rate(scorerDuration+"_sum", scorerSel)),
				labelProfile,
				positive(sumBy(labelProfile, rate(scoringDuration+"_sum", chainSel)))), scorerLegend)).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).FillOpacity(30).Min(0)).
		WithPanel(series("Score distribution: mean max and mean average score",
			"Per scorer, the mean of the largest and of the average score it returned per invocation. "+
				"When the two meet, every candidate got the same score: the scorer decides nothing "+
				"(alert ScorelensScorerNotDiscriminating).", "none", 12,
			query("A", fmt.Sprintf("%s\n/\n%s", sumBy(scorerBy, rate(scoreMax+"_sum", scorerSel)),
				positive(sumBy(scorerBy, rate(scoreMax+"_count", scorerSel)))), scorerLegend+" max"),
			query("B", fmt.Sprintf("%s\n/\n%s", sumBy(scorerBy, rate(scoreAvg+"_sum", scorerSel)),
				positive(sumBy(scorerBy, rate(scoreAvg+"_count", scorerSel)))), scorerLegend+" avg")).
			Min(0).Max(1)).
		WithPanel(heat("Average-score heatmap",
			"Invocations of the selected scorers per average-score bucket (0, 0.1 … 1) over time.", "none",
			heatmapQuery("A", scoreAvg+"_bucket", scorerSel)))

	b.WithRow(dashboard.NewRowBuilder("Chains")).
		WithPanel(series("Chain latency by model",
			"The whole scorer chain (the llm_d.epp.scoring span), p50 and p99 per model.", "s", 8,
			query("A", quantile("0.5", labelModel, scoringDuration+"_bucket", chainSel), "{{"+labelModel+"}} p50"),
			query("B", quantile("0.99", labelModel, scoringDuration+"_bucket", chainSel), "{{"+labelModel+"}} p99"))).
		WithPanel(series("Chain latency by profile",
			"p99 of the whole chain per scheduling profile (prefill and decode chains of one request apart).", "s", 8,
			query("A", quantile("0.99", profileModel, scoringDuration+"_bucket", chainSel),
				"{{"+labelProfile+"}} {{"+labelModel+"}} p99"))).
		WithPanel(series("Candidates per request",
			"Endpoints the chain scored per request (after the filters): mean and p99 per model.", "short", 8,
			query("A", fmt.Sprintf("%s\n/\n%s", sumBy(labelModel, rate(scoringCandidate+"_sum", chainSel)),
				positive(sumBy(labelModel, rate(scoringCandidate+"_count", chainSel)))), "{{"+labelModel+"}} mean"),
			query("B", quantile("0.99", labelModel, scoringCandidate+"_bucket", chainSel), "{{"+labelModel+"}} p99")))

	b.WithRow(dashboard.NewRowBuilder("Collector: rule enforcement and connector health")).
		WithPanel(series("Processor removals by reason",
			"Attributes the eppscoring processor removed (mode strip) or only reported (mode report), and scorer "+
				"spans it renamed, per second by reason. Any of them means an EPP puts endpoint identities on "+
				"scoring spans (alerts ScorelensEndpointIdentityRemoved / ...Reported).", "ops", 8,
			query("A", sumBy("reason", fmt.Sprintf("rate(%s[%s])", ProcessorAttributesRemoved, rateWindow)), "removed {{reason}}"),
			query("B", sumBy("reason", fmt.Sprintf("rate(%s[%s])", ProcessorAttributesReported, rateWindow)), "reported {{reason}}"),
			query("C", sumBy("reason", fmt.Sprintf("rate(%s[%s])", ProcessorSpansRenamed, rateWindow)), "renamed {{reason}}"))).
		WithPanel(series("Parent join",
			"Scorer spans that found their parent's model per second, those emitted without it by reason "+
				"(alert ScorelensParentJoinFailing), and those waiting now; chains emitted without their "+
				"run_scheduler_profile's profile by reason; spans whose tracestate threshold (ot=th) was malformed "+
				"(counted with the configured ratio instead).", "short", 8,
			query("A", fmt.Sprintf("sum(rate(%s[%s]))", ConnectorJoinMatched, rateWindow), "matched/s"),
			query("B", sumBy("reason", fmt.Sprintf("rate(%s[%s])", ConnectorJoinUnmatched, rateWindow)), "unmatched/s {{reason}}"),
			query("C", fmt.Sprintf("sum(%s)", ConnectorJoinPending), "pending"),
			query("D", sumBy("reason", fmt.Sprintf("rate(%s[%s])", ConnectorProfileJoinUnmatched, rateWindow)), "no profile/s {{reason}}"),
			query("E", fmt.Sprintf("sum(rate(%s[%s]))", ConnectorThresholdInvalid, rateWindow), "bad ot=th/s"))).
		WithPanel(series("Cardinality",
			"Series the connector holds per family against aggregation_cardinality_limit, and observations folded "+
				"into the overflow series per second (alert ScorelensSeriesOverflow).", "short", 8,
			query("A", sumBy("family", ConnectorSeriesActive), "active {{family}}"),
			query("B", sumBy("family", fmt.Sprintf("rate(%s[%s])", ConnectorSeriesOverflow, rateWindow)), "overflow/s {{family}}"),
			query("C", fmt.Sprintf(`sum(rate(%s{%s="true"}[%s]))`, scorerCalls, labelOverflow, rateWindow), "overflow series calls/s")))

	// Last, so that the panels above keep their ids.
	b.WithRow(dashboard.NewRowBuilder("Who decides the pick")).
		WithPanel(series("Who decides: share of picks per scorer",
			"Per scorer, the share of its invocations in which it was decisive: without its weighted contribution "+
				"the best total would have belonged to other endpoints (llm_d.epp.scorer.decisive). A scorer near 0 "+
				"never changes a pick on its own (its weight, or another scorer that agrees with it, makes it "+
				"redundant); prefix affinity high in calm traffic and falling under load is queue depth taking over.",
			"percentunit", 12,
			query("A", fmt.Sprintf("%s\n/\n%s", sumBy(scorerBy, rate(scorerDecisive, scorerSel)),
				positive(sumBy(scorerBy, rate(scorerCalls, scorerSel)))), scorerLegend)).
			Min(0).Max(1)).
		WithPanel(series("Ties at the top and margin of the pick",
			"Per model and profile: the share of chains whose best weighted total was shared (the pick was a coin "+
				"toss), and the median margin of the best total over the runner-up, as a fraction of the sum of the "+
				"weights (0: a photo finish, 1: one endpoint took every point).", "percentunit", 12,
			query("A", fmt.Sprintf("%s\n/\n%s", sumBy(profileModel, rate(scoringTies, chainSel)),
				positive(sumBy(profileModel, rate(scoringDuration+"_count", chainSel)))),
				"ties {{"+labelModel+"}} {{"+labelProfile+"}}"),
			query("B", quantile("0.5", profileModel, scoringMargin+"_bucket", chainSel),
				"margin p50 {{"+labelModel+"}} {{"+labelProfile+"}}")).
			Min(0).Max(1))

	d, err := b.Build()
	if err != nil {
		return d, err
	}
	// Stable panel ids in layout order: Grafana keys links, panel-level
	// permissions and "view panel" URLs by them.
	id := uint32(0)
	for _, p := range d.Panels {
		id++
		switch {
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(id)
		}
	}
	return d, nil
}

// JSON returns the dashboard as the committed file holds it: indented
// JSON with a trailing newline.
func JSON() ([]byte, error) {
	d, err := Build()
	if err != nil {
		return nil, fmt.Errorf("build dashboard: %w", err)
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal dashboard: %w", err)
	}
	return append(unescapeHTML(out), '\n'), nil
}

// unescapeHTML undoes encoding/json's HTML escaping of <, > and & inside
// strings (the SDK's own MarshalJSON applies it), so that queries read as
// written: "x > 0", not "x \u003e 0". Both are the same JSON. Escape
// sequences are consumed in pairs, so an escaped backslash is left alone.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) {
			switch string(b[i+2 : i+6]) {
			case "003c":
				out = append(out, '<')
				i += 5
				continue
			case "003e":
				out = append(out, '>')
				i += 5
				continue
			case "0026":
				out = append(out, '&')
				i += 5
				continue
			}
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}
