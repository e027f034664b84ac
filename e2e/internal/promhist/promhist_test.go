package promhist

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var inf = math.Inf(1)

func TestQuantile(t *testing.T) {
	// 10 observations: 4 in (0, 1], 4 in (1, 2], 2 in (2, 4].
	three := []Bucket{{1, 4}, {2, 8}, {4, 10}, {inf, 10}}
	tests := []struct {
		name    string
		q       float64
		buckets []Bucket
		want    float64
	}{
		{"median inside the second bucket", 0.5, three, 1.25},
		{"rank on a bucket edge", 0.4, three, 1},
		{"p99 in the last finite bucket", 0.99, three, 2 + 2*(9.9-8)/2},
		{"maximum", 1, three, 4},
		{"minimum starts at the first non-empty bucket", 0, []Bucket{{1, 0}, {2, 5}, {inf, 5}}, 1},
		{"first bucket starts at zero", 0.5, []Bucket{{0.004, 10}, {inf, 10}}, 0.002},
		{"rank in +Inf bucket yields the largest finite bound", 0.99, []Bucket{{1, 1}, {2, 2}, {inf, 10}}, 2},
		{"empty leading buckets are skipped", 0.5, []Bucket{{0.001, 0}, {0.002, 0}, {0.004, 2}, {inf, 2}}, 0.003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Quantile(tt.q, tt.buckets)
			if err != nil {
				t.Fatalf("Quantile(%v): %v", tt.q, err)
			}
			if math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestQuantileErrors(t *testing.T) {
	tests := []struct {
		name    string
		q       float64
		buckets []Bucket
		wantErr string
	}{
		{"q above 1", 1.5, []Bucket{{1, 1}, {inf, 1}}, "outside"},
		{"q NaN", math.NaN(), []Bucket{{1, 1}, {inf, 1}}, "outside"},
		{"no buckets", 0.5, nil, "+Inf"},
		{"no +Inf bucket", 0.5, []Bucket{{1, 1}}, "+Inf"},
		{"empty", 0.5, []Bucket{{1, 0}, {inf, 0}}, "no observations"},
		{"decreasing counts", 0.5, []Bucket{{1, 3}, {2, 2}, {inf, 3}}, "decreases"},
		{"unsorted bounds", 0.5, []Bucket{{2, 1}, {1, 2}, {inf, 3}}, "not increasing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Quantile(tt.q, tt.buckets)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Quantile = %v, %v; want error containing %q", got, err, tt.wantErr)
			}
		})
	}
}

// An exposition as the collector's Prometheus exporter writes it, parsed by
// expfmt, gives the same buckets and quantiles as the hand-built ones.
func TestFromDTO(t *testing.T) {
	const text = `# HELP d_seconds test
# TYPE d_seconds histogram
d_seconds_bucket{le="2"} 8
d_seconds_bucket{le="1"} 4
d_seconds_bucket{le="4"} 10
d_seconds_bucket{le="+Inf"} 10
d_seconds_sum 15
d_seconds_count 10
`
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	h := fams["d_seconds"].GetMetric()[0].GetHistogram()
	buckets, total := FromDTO(h)
	if total != 10 {
		t.Fatalf("total = %v, want 10", total)
	}
	want := []Bucket{{1, 4}, {2, 8}, {4, 10}, {inf, 10}}
	if len(buckets) != len(want) {
		t.Fatalf("buckets = %v, want %v", buckets, want)
	}
	for i := range want {
		if buckets[i] != want[i] {
			t.Fatalf("buckets = %v, want %v", buckets, want)
		}
	}
	if got, _ := Quantile(0.5, buckets); got != 1.25 {
		t.Fatalf("p50 = %v, want 1.25", got)
	}
}
