package otelcol

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// Two models of one scorer, one of another, and a counter family, as the
// collector's Prometheus exporter writes them.
const exposition = `# HELP d_seconds scorer duration
# TYPE d_seconds histogram
d_seconds_bucket{model="a",name="q",type="queue",le="0.001"} 4
d_seconds_bucket{model="a",name="q",type="queue",le="0.002"} 8
d_seconds_bucket{model="a",name="q",type="queue",le="+Inf"} 10
d_seconds_sum{model="a",name="q",type="queue"} 0.02
d_seconds_count{model="a",name="q",type="queue"} 10
d_seconds_bucket{model="b",name="q",type="queue",le="0.001"} 6
d_seconds_bucket{model="b",name="q",type="queue",le="0.002"} 10
d_seconds_bucket{model="b",name="q",type="queue",le="+Inf"} 10
d_seconds_sum{model="b",name="q",type="queue"} 0.01
d_seconds_count{model="b",name="q",type="queue"} 10
d_seconds_bucket{model="a",name="p",type="prefix",le="0.001"} 0
d_seconds_bucket{model="a",name="p",type="prefix",le="0.002"} 2
d_seconds_bucket{model="a",name="p",type="prefix",le="+Inf"} 2
d_seconds_sum{model="a",name="p",type="prefix"} 0.003
d_seconds_count{model="a",name="p",type="prefix"} 2
# HELP removed_total removals
# TYPE removed_total counter
removed_total{reason="unknown_key",service_name="otelcol-dist"} 3
removed_total{reason="endpoint_value",service_name="otelcol-dist"} 5
`

func serve(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHistogramByMergesSeries(t *testing.T) {
	fams, err := Scrape(context.Background(), serve(t, exposition))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := fams.HistogramBy("d_seconds", "type", "name")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		labels          []string
		count, p50, p99 float64
	}
	var got []row
	for _, r := range rows {
		got = append(got, row{r.Labels, r.Count, r.P50, r.P99})
	}
	want := []row{
		// 2 observations in (1ms, 2ms].
		{[]string{"prefix", "p"}, 2, 0.0015, 0.001 + 0.001*1.98/2},
		// Models a and b add up: 10 in (0, 1ms], 8 in (1ms, 2ms], 2 above.
		{[]string{"queue", "q"}, 20, 0.001, 0.002},
	}
	if len(got) != len(want) {
		t.Fatalf("rows = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !reflect.DeepEqual(g.labels, w.labels) || g.count != w.count ||
			abs(g.p50-w.p50) > 1e-12 || abs(g.p99-w.p99) > 1e-12 {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestHistogramByErrors(t *testing.T) {
	fams, err := Scrape(context.Background(), serve(t, exposition))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, wantErr string }{
		{"missing_seconds", "not in the scrape"},
		{"removed_total", "want a histogram"},
	} {
		if _, err := fams.HistogramBy(tt.name); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("HistogramBy(%s) error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestSumAndWithPrefix(t *testing.T) {
	fams, err := Scrape(context.Background(), serve(t, exposition))
	if err != nil {
		t.Fatal(err)
	}
	if got := fams.Sum("removed_total", nil); got != 8 {
		t.Errorf("Sum = %v, want 8", got)
	}
	if got := fams.Sum("removed_total", map[string]string{"reason": "endpoint_value"}); got != 5 {
		t.Errorf("Sum(endpoint_value) = %v, want 5", got)
	}
	series := fams.WithPrefix("removed")
	if len(series) != 2 || series[0].Labels["reason"] != "endpoint_value" || series[0].Labels["service_name"] != "" {
		t.Errorf("WithPrefix = %+v, want 2 series sorted by labels, service labels dropped", series)
	}
}

func TestPromName(t *testing.T) {
	for in, want := range map[string]string{
		"llm_d.epp.scorer.duration": "llm_d_epp_scorer_duration",
		"gen_ai.request.model":      "gen_ai_request_model",
		"a-b/c":                     "a_b_c",
	} {
		if got := PromName(in); got != want {
			t.Errorf("PromName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckPortsFree(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	free, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	err = CheckPortsFree([]PortUse{{busy, "the busy one"}, {free[0], "the free one"}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d (the busy one) is in use", busy)) ||
		strings.Contains(err.Error(), "the free one") {
		t.Fatalf("CheckPortsFree = %v, want an error naming only port %d", err, busy)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
