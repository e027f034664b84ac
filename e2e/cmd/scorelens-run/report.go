package main

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// reportFile is the offline report's name, written next to the collector's
// log (out/ under `make run`).
const reportFile = "report.html"

// reportPath is where the report of a run with these options goes.
func reportPath(o options) string { return filepath.Join(filepath.Dir(o.logPath), reportFile) }

// reportScorer is one scorer's latency distribution as the page draws it.
type reportScorer struct {
	Type, Name string
	Calls      float64
	P50, P99   float64 // seconds, interpolated in the bucket that holds them
	Mean       float64 // seconds
	// P50Text and P99Text are the quantiles as the terminal table prints
	// them (a quantile in the first bucket shows as "≤bound").
	P50Text, P99Text string
	Counts           []float64 // invocations per bucket (not cumulative), aligned with reportData.Bounds
}

// reportData is everything the page shows; the page's script draws the
// chart from it, so the figures and the chart cannot disagree.
type reportData struct {
	Metric    string
	Source    string
	Generated string
	Bounds    []float64 // bucket upper bounds in seconds; the last is +Inf, sent as -1 (JSON has no Inf)
	Scorers   []reportScorer
}

// writeReport writes the offline report of a run, out/report.html: the
// per-scorer latency distribution from the connector's histograms as an
// inline SVG chart drawn by an inline script (no external asset: it opens
// offline), and a table of the same figures. It prints where it went.
func writeReport(out io.Writer, o options, fams otelcol.Families) error {
	data, err := buildReport(fams, o.metrics, time.Now())
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, data); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	path := reportPath(o)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	fmt.Fprintf(out, "scorelens: report written to %s (open it in a browser; it needs no network)\n", abs)
	return nil
}

// buildReport turns the scrape's scorer histograms into the page's data.
func buildReport(fams otelcol.Families, source string, now time.Time) (reportData, error) {
	rows, err := fams.HistogramBy(scorerMetric, otelcol.PromName(schema.AttrScorerType), otelcol.PromName(schema.AttrScorerName))
	if err != nil {
		return reportData{}, err
	}
	if len(rows) == 0 {
		return reportData{}, fmt.Errorf("no %s series on %s", scorerMetric, source)
	}
	d := reportData{Metric: scorerMetric, Source: source, Generated: now.UTC().Format(time.RFC3339)}
	for _, b := range rows[0].Buckets {
		ub := b.UpperBound
		if math.IsInf(ub, 1) {
			ub = -1
		}
		d.Bounds = append(d.Bounds, ub)
	}
	for _, r := range rows {
		if len(r.Buckets) != len(d.Bounds) {
			return reportData{}, fmt.Errorf("scorer %v has %d buckets, %v has %d: the chart needs one set of bounds",
				r.Labels, len(r.Buckets), rows[0].Labels, len(d.Bounds))
		}
		s := reportScorer{Type: r.Labels[0], Name: r.Labels[1], Calls: r.Count, P50: r.P50, P99: r.P99,
			P50Text: quantile(r.P50, r), P99Text: quantile(r.P99, r)}
		if r.Count > 0 {
			s.Mean = r.Sum / r.Count
		}
		prev := 0.0
		for i, b := range r.Buckets {
			if b.UpperBound != rows[0].Buckets[i].UpperBound {
				return reportData{}, fmt.Errorf("scorer %v: bucket %d bound %v, want %v", r.Labels, i, b.UpperBound, rows[0].Buckets[i].UpperBound)
			}
			s.Counts = append(s.Counts, b.Count-prev)
			prev = b.Count
		}
		d.Scorers = append(d.Scorers, s)
	}
	return d, nil
}

// dur prints seconds for the table.
func dur(s float64) string { return seconds(s) }

var reportTemplate = template.Must(template.New(reportFile).Funcs(template.FuncMap{"dur": dur}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>scorelens: per-scorer latency</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fff; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  p.meta { color: #5b6478; margin: 0 0 16px; }
  svg text { font: 11px system-ui, sans-serif; fill: #1d2330; }
  svg .axis { stroke: #9aa3b5; stroke-width: 1; }
  svg .bar { fill: #e8743b; }
  svg .p50 { stroke: #1f6feb; stroke-width: 2; }
  svg .p99 { stroke: #a01f4d; stroke-width: 2; stroke-dasharray: 4 2; }
  table { border-collapse: collapse; margin-top: 16px; }
  th, td { padding: 4px 12px; text-align: right; border-bottom: 1px solid #e3e6ec; }
  th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
</style>
</head>
<body>
<h1>scorelens: per-scorer latency distribution</h1>
<p class="meta">{{.Metric}} scraped from {{.Source}} at {{.Generated}}. Bars: share of each scorer's invocations per
latency bucket (labelled by its upper bound); blue: p50, red dashed: p99, interpolated inside the bucket that holds them.</p>
<svg id="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Per-scorer latency histograms"></svg>
<noscript><p>The chart is drawn by an inline script; the table below holds the same figures.</p></noscript>
<table id="scorers">
<thead><tr><th>type</th><th>name</th><th>calls</th><th>p50</th><th>p99</th><th>mean</th></tr></thead>
<tbody>
{{range .Scorers}}<tr><td>{{.Type}}</td><td>{{.Name}}</td><td>{{printf "%.0f" .Calls}}</td><td>{{.P50Text}}</td><td>{{.P99Text}}</td><td>{{dur .Mean}}</td></tr>
{{end}}</tbody>
</table>
<script>
(function () {
  "use strict";
  var data = {{.}};
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("chart");
  var left = 220, right = 20, top = 10, rowH = 90, gap = 18, axisH = 40;
  var nb = data.Bounds.length;
  var bw = Math.max(18, Math.floor(760 / nb));
  var width = left + nb * bw + right;
  var height = top + data.Scorers.length * (rowH + gap) + axisH;
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    svg.appendChild(e);
    return e;
  }
  function label(s) {
    if (s < 0) { return "+Inf"; }
    if (s < 1e-3) { return +(s * 1e6).toPrecision(3) + "\u00b5s"; }
    if (s < 1) { return +(s * 1e3).toPrecision(3) + "ms"; }
    return +s.toPrecision(3) + "s";
  }
  // x position of a latency: bucket index plus the fraction inside it.
  function xOf(q) {
    var lower = 0;
    for (var i = 0; i < nb; i++) {
      var ub = data.Bounds[i];
      if (ub < 0 || q <= ub) {
        var frac = ub < 0 ? 0.5 : (q - lower) / (ub - lower);
        return left + (i + Math.max(0, Math.min(1, frac))) * bw;
      }
      lower = ub;
    }
    return left + nb * bw;
  }
  var bars = 0;
  data.Scorers.forEach(function (s, row) {
    var y0 = top + row * (rowH + gap);
    var peak = Math.max.apply(null, s.Counts) || 1;
    el("text", {x: 0, y: y0 + 16}, s.Name);
    el("text", {x: 0, y: y0 + 32, fill: "#5b6478"}, s.Type);
    el("text", {x: 0, y: y0 + 48}, s.Calls + " calls");
    el("line", {"class": "axis", x1: left, y1: y0 + rowH, x2: left + nb * bw, y2: y0 + rowH});
    s.Counts.forEach(function (c, i) {
      if (c <= 0) { return; }
      var h = Math.max(1, Math.round(c / peak * (rowH - 6)));
      var r = el("rect", {"class": "bar", x: left + i * bw + 1, y: y0 + rowH - h, width: bw - 2, height: h,
        "data-scorer": s.Name, "data-le": String(data.Bounds[i]), "data-count": String(c)});
      var tip = document.createElementNS(NS, "title");
      tip.textContent = s.Name + ": " + c + " calls \u2264 " + label(data.Bounds[i]);
      r.appendChild(tip);
      bars++;
    });
    [["p50", s.P50], ["p99", s.P99]].forEach(function (m) {
      var x = xOf(m[1]);
      el("line", {"class": m[0], x1: x, y1: y0, x2: x, y2: y0 + rowH, "data-scorer": s.Name});
    });
  });
  var yAxis = top + data.Scorers.length * (rowH + gap);
  data.Bounds.forEach(function (ub, i) {
    if (i % 2 === 0 || i === nb - 1) {
      el("text", {x: left + (i + 1) * bw, y: yAxis + 14, "text-anchor": "end"}, label(ub));
    }
  });
  el("text", {x: left, y: yAxis + 32}, "latency bucket (upper bound)");
  document.body.setAttribute("data-rendered-bars", String(bars));
})();
</script>
</body>
</html>
`))
