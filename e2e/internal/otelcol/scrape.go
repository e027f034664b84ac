package otelcol

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scorelens/scorelens/e2e/internal/promhist"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Scrape fetches a Prometheus text exposition and parses it with expfmt.
// It asks for the classic text format, in which names and labels are
// escaped to underscores, as every Prometheus server sees them.
func Scrape(ctx context.Context, url string) (Families, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse scrape of %s: %w", url, err)
	}
	return fams, nil
}

// PromName is how an OpenTelemetry attribute key or metric name appears in
// the classic Prometheus format: every character outside [a-zA-Z0-9_]
// becomes an underscore.
func PromName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// Label returns a metric's label value, and whether it is set.
func Label(m *dto.Metric, name string) (string, bool) {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue(), true
		}
	}
	return "", false
}

// HistRow is a histogram family merged by a few labels: the series that
// share those label values (say, every model of one scorer) add up.
type HistRow struct {
	Labels   []string // values of the grouping labels, in their order
	Count    float64
	Sum      float64
	P50, P99 float64
	Buckets  []promhist.Bucket
}

// HistogramBy groups the histogram family name by the given labels (a
// missing label groups as ""), adds up each group's buckets and computes its
// p50 and p99. Rows come sorted by label values.
func (f Families) HistogramBy(name string, labels ...string) ([]HistRow, error) {
	fam, ok := f[name]
	if !ok {
		return nil, fmt.Errorf("metric %s not in the scrape", name)
	}
	if fam.GetType() != dto.MetricType_HISTOGRAM {
		return nil, fmt.Errorf("metric %s is a %s, want a histogram", name, fam.GetType())
	}
	type group struct {
		vals       []string
		count, sum float64
		byBound    map[float64]float64
	}
	groups := map[string]*group{}
	for _, m := range fam.GetMetric() {
		vals := make([]string, len(labels))
		for i, l := range labels {
			vals[i], _ = Label(m, l)
		}
		key := strings.Join(vals, "\x00")
		g := groups[key]
		if g == nil {
			g = &group{vals: vals, byBound: map[float64]float64{}}
			groups[key] = g
		}
		buckets, total := promhist.FromDTO(m.GetHistogram())
		g.count += total
		g.sum += m.GetHistogram().GetSampleSum()
		for _, b := range buckets {
			g.byBound[b.UpperBound] += b.Count
		}
	}
	rows := make([]HistRow, 0, len(groups))
	for _, g := range groups {
		r := HistRow{Labels: g.vals, Count: g.count, Sum: g.sum}
		for ub, c := range g.byBound {
			r.Buckets = append(r.Buckets, promhist.Bucket{UpperBound: ub, Count: c})
		}
		sort.Slice(r.Buckets, func(i, j int) bool { return r.Buckets[i].UpperBound < r.Buckets[j].UpperBound })
		var err error
		if r.P50, err = promhist.Quantile(0.5, r.Buckets); err != nil {
			return nil, fmt.Errorf("%s %v p50: %w", name, g.vals, err)
		}
		if r.P99, err = promhist.Quantile(0.99, r.Buckets); err != nil {
			return nil, fmt.Errorf("%s %v p99: %w", name, g.vals, err)
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		return strings.Join(rows[i].Labels, "\x00") < strings.Join(rows[j].Labels, "\x00")
	})
	return rows, nil
}

// Series is one counter or gauge sample.
type Series struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// WithPrefix returns every counter, gauge and untyped sample whose family
// name starts with prefix, sorted by name then labels. Labels that every
// collector series carries (service identity) are left out.
func (f Families) WithPrefix(prefix string) []Series {
	var out []Series
	for name, fam := range f {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range fam.GetMetric() {
			s := Series{Name: name, Labels: map[string]string{}}
			switch {
			case m.Counter != nil:
				s.Value = m.GetCounter().GetValue()
			case m.Gauge != nil:
				s.Value = m.GetGauge().GetValue()
			case m.Untyped != nil:
				s.Value = m.GetUntyped().GetValue()
			default:
				continue
			}
			for _, lp := range m.GetLabel() {
				if strings.HasPrefix(lp.GetName(), "service_") || lp.GetName() == "otel_scope_name" ||
					strings.HasPrefix(lp.GetName(), "otel_scope_") {
					continue
				}
				s.Labels[lp.GetName()] = lp.GetValue()
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return fmt.Sprint(out[i].Labels) < fmt.Sprint(out[j].Labels)
	})
	return out
}

// Sum adds up the samples of one family (counters and gauges) whose labels
// include every given label=value pair.
func (f Families) Sum(name string, match map[string]string) float64 {
	var total float64
	for _, s := range f.WithPrefix(name) {
		if s.Name != name {
			continue
		}
		ok := true
		for k, v := range match {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			total += s.Value
		}
	}
	return total
}
