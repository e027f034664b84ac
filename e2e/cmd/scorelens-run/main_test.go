package main

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/e2e/internal/promhist"
	"github.com/scorelens/scorelens/scheduler/schema"
)

func TestQuantileDisplay(t *testing.T) {
	inf := math.Inf(1)
	// 1µs, 1ms and 1s bounds; how many observations lie beyond 1s varies.
	row := func(beyond float64) otelcol.HistRow {
		return otelcol.HistRow{Buckets: []promhist.Bucket{{UpperBound: 1e-6, Count: 10}, {UpperBound: 1e-3, Count: 20}, {UpperBound: 1, Count: 30}, {UpperBound: inf, Count: 30 + beyond}}}
	}
	tests := []struct {
		name string
		q    float64
		row  otelcol.HistRow
		want string
	}{
		{"inside the first bucket: only its bound is known", 5e-7, row(0), "≤1µs"},
		{"on the first bound", 1e-6, row(0), "≤1µs"},
		{"interpolated", 5e-4, row(0), "500µs"},
		{"the largest bound, nothing beyond", 1, row(0), "1s"},
		{"the largest bound, observations beyond", 1, row(5), "≥1s"},
		{"a lone +Inf bucket", 0.25, otelcol.HistRow{Buckets: []promhist.Bucket{{UpperBound: inf, Count: 3}}}, "250ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.q, tt.row); got != tt.want {
				t.Errorf("quantile(%v) = %q, want %q", tt.q, got, tt.want)
			}
		})
	}
}

func TestPortUses(t *testing.T) {
	o := options{
		otlp: "127.0.0.1:4317", otlpHTTP: "127.0.0.1:4318",
		health: "http://127.0.0.1:13133/", metrics: "http://127.0.0.1:8889/metrics", telemetry: "http://127.0.0.1:8888/metrics",
	}
	uses, err := portUses(o)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, u := range uses {
		got = append(got, u.Port)
	}
	if want := []int{4317, 4318, 13133, 8889, 8888}; !slices.Equal(got, want) {
		t.Errorf("ports %v, want %v", got, want)
	}

	for _, tt := range []struct {
		name    string
		mutate  func(*options)
		wantErr string
	}{
		{"OTLP without port", func(o *options) { o.otlp = "127.0.0.1" }, "OTLP gRPC receiver address"},
		{"URL without port", func(o *options) { o.metrics = "http://127.0.0.1/metrics" }, "Prometheus exporter"},
		{"named port", func(o *options) { o.otlpHTTP = "127.0.0.1:http" }, "OTLP HTTP receiver port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := o
			tt.mutate(&bad)
			if _, err := portUses(bad); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("portUses = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

// exposition renders histogram and counter series in the Prometheus text
// format, as the collector's exporter would, with the names and labels the
// connector's schema gives.
type series struct {
	profile, scorer string
	calls           float64 // the calls counter and the histogram count
}

func exposition(t *testing.T, scorers []series, chains map[string]float64) otelcol.Families {
	t.Helper()
	typeL, nameL := otelcol.PromName(schema.AttrScorerType), otelcol.PromName(schema.AttrScorerName)
	labels := func(profile string, kv ...string) string {
		var parts []string
		if profile != "" {
			parts = append(parts, profileLabel+"="+strconv.Quote(profile))
		}
		for i := 0; i < len(kv); i += 2 {
			parts = append(parts, kv[i]+"="+strconv.Quote(kv[i+1]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	var b strings.Builder
	hist := func(name, profile string, count float64, kv ...string) {
		for _, le := range []string{"1e-06", "1e-05", "+Inf"} {
			fmt.Fprintf(&b, "%s_bucket%s %g\n", name, labels(profile, append(kv, "le", le)...), count)
		}
		fmt.Fprintf(&b, "%s_sum%s %g\n%s_count%s %g\n", name, labels(profile, kv...), count*2e-6, name, labels(profile, kv...), count)
	}
	fmt.Fprintf(&b, "# TYPE %s histogram\n", scorerMetric)
	for _, s := range scorers {
		hist(scorerMetric, s.profile, s.calls, typeL, s.scorer, nameL, s.scorer)
	}
	fmt.Fprintf(&b, "# TYPE %s_total counter\n", callsMetric)
	for _, s := range scorers {
		fmt.Fprintf(&b, "%s_total%s %g\n", callsMetric, labels(s.profile, typeL, s.scorer, nameL, s.scorer), s.calls)
	}
	// Decision counts for the series without a profile only (the others
	// stand for a connector or an EPP without them): the queue scorer
	// decided a quarter of its calls, the others none.
	fmt.Fprintf(&b, "# TYPE %s_total counter\n", decisiveMetric)
	for _, s := range scorers {
		if s.profile != "" {
			continue
		}
		d := 0.0
		if s.scorer == "queue-scorer" {
			d = s.calls / 4
		}
		fmt.Fprintf(&b, "%s_total%s %g\n", decisiveMetric, labels("", typeL, s.scorer, nameL, s.scorer), d)
	}
	fmt.Fprintf(&b, "# TYPE %s histogram\n", chainMetric)
	for profile, n := range chains {
		hist(chainMetric, profile, n)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return fams
}

func TestParseTruth(t *testing.T) {
	summary := "eppsim: 410 requests (0 failed) in 1s\n" +
		"sampler: parentbased_traceidratio 0.25, writes ot=th:c (probability 0.25, adjusted count 4)\n" +
		"scoring chains: 530, sampled 130 (24.53%)\n" +
		"  profile decode: 410, sampled 100\n" +
		"  profile prefill: 120, sampled 30\n"
	got, err := parseTruth(summary)
	if err != nil {
		t.Fatal(err)
	}
	want := truth{chains: 530, sampled: 130, adjusted: 4, th: "c",
		profiles: map[string][2]float64{"decode": {410, 100}, "prefill": {120, 30}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseTruth = %+v, want %+v", got, want)
	}
	unsplit, err := parseTruth("sampler: parentbased_traceidratio 0.25, writes ot=th:c (probability 0.25, adjusted count 4)\n" +
		"scoring chains: 530, sampled 130 (24.53%)\n" +
		"profiles: decode, prefill (named on recording spans only: true chains per profile unknown)\n")
	if err != nil || !unsplit.unsplit || unsplit.profiles != nil {
		t.Errorf("parseTruth of an unsplit run = %+v, %v", unsplit, err)
	}
	for _, bad := range []string{
		"eppsim: 410 requests\n",
		"scoring chains: 530, sampled 130 (24.53%)\nsampler: parentbased_always_on (no threshold written)\n",
	} {
		if _, err := parseTruth(bad); err == nil {
			t.Errorf("parseTruth accepted %q", bad)
		}
	}
}

func TestScorerTable(t *testing.T) {
	o := options{sampleRatio: 0.25, metrics: "http://127.0.0.1:1/metrics"}
	tests := []struct {
		name     string
		scorers  []series
		chains   map[string]float64
		truth    truth
		want     []*regexp.Regexp
		wantNot  []string
		wantLoss bool
	}{
		{
			name:    "one profile, extrapolated",
			scorers: []series{{"", "queue-scorer", 400}, {"", "kv-cache-utilization-scorer", 400}},
			chains:  map[string]float64{"": 400},
			truth:   truth{chains: 410, sampled: 100, adjusted: 4, th: "c"},
			want: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^TYPE +NAME +CALLS +TRUE +ERROR +P50 +P99 +MEAN +DECIDED$`),
				regexp.MustCompile(`(?m)^queue-scorer +queue-scorer +400 +410 +-2\.4% .* 25\.0%$`),
				regexp.MustCompile(`(?m)^kv-cache-utilization-scorer +kv-cache-utilization-scorer +400 .* 0\.0%$`),
				regexp.MustCompile(`(?m)^whole chain \(\S+\): 400 chains, true 410 \(error -2\.4%\)`),
				regexp.MustCompile(`(?m)^2 scorer series, 800 scorer calls; largest error against the truth 2\.4% \(2 series compared\)$`),
			},
			wantNot: []string{"PROFILE", "note:"},
		},
		{
			name: "prefill and decode",
			scorers: []series{
				{"decode", "queue-scorer", 400}, {"prefill", "queue-scorer", 120}, {"prefill", "prefix-cache-scorer", 120},
			},
			chains: map[string]float64{"decode": 400, "prefill": 120},
			truth: truth{chains: 530, sampled: 130, adjusted: 4, th: "c",
				profiles: map[string][2]float64{"decode": {410, 100}, "prefill": {120, 30}}},
			want: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^PROFILE +TYPE +NAME +CALLS +TRUE +ERROR`),
				regexp.MustCompile(`(?m)^decode +queue-scorer +queue-scorer +400 +410 +-2\.4% .* -$`), // no decision counts
				regexp.MustCompile(`(?m)^prefill +queue-scorer +queue-scorer +120 +120 +\+0\.0% `),
				regexp.MustCompile(`(?m)^prefill +prefix-cache-scorer +prefix-cache-scorer +120 +120 `),
				regexp.MustCompile(`(?m)^profile decode \(\S+\): 400 chains, true 410`),
				regexp.MustCompile(`(?m)^profile prefill \(\S+\): 120 chains, true 120`),
			},
		},
		{
			name:    "profiles in the series but not in eppsim's summary",
			scorers: []series{{"decode", "queue-scorer", 400}},
			chains:  map[string]float64{"decode": 400},
			truth:   truth{chains: 410, sampled: 100, adjusted: 4, th: "c"},
			want:    []*regexp.Regexp{regexp.MustCompile(`(?m)^decode +queue-scorer +queue-scorer +400 +\? +- `)},
		},
		{
			name:    "several profiles, neither series nor eppsim split by profile",
			scorers: []series{{"", "queue-scorer", 400}},
			chains:  map[string]float64{"": 400},
			truth:   truth{chains: 410, sampled: 100, adjusted: 4, th: "c", unsplit: true},
			want: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^queue-scorer +queue-scorer +400 +\? +- `),
				regexp.MustCompile(`(?m)^whole chain \(\S+\): 400 chains, true 410 \(error -2\.4%\)`),
			},
		},
		{
			name:    "a connector that does not extrapolate",
			scorers: []series{{"", "queue-scorer", 100}},
			chains:  map[string]float64{"": 100},
			truth:   truth{chains: 410, sampled: 100, adjusted: 4, th: "c"},
			want:    []*regexp.Regexp{regexp.MustCompile(`(?m)^note: this connector counts the sampled chains without extrapolating`)},
		},
		{
			name:     "a lost chain",
			scorers:  []series{{"", "queue-scorer", 396}},
			chains:   map[string]float64{"": 396},
			truth:    truth{chains: 410, sampled: 100, adjusted: 4, th: "c"},
			wantLoss: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := printScorers(&out, o, tt.truth, exposition(t, tt.scorers, tt.chains))
			if tt.wantLoss {
				if err == nil || !strings.Contains(err.Error(), "spans were lost") {
					t.Errorf("printScorers = %v, want a loss\n%s", err, out.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("printScorers: %v\n%s", err, out.String())
			}
			for _, re := range tt.want {
				if !re.MatchString(out.String()) {
					t.Errorf("output lacks %s:\n%s", re, out.String())
				}
			}
			for _, s := range tt.wantNot {
				if strings.Contains(out.String(), s) {
					t.Errorf("output has %q:\n%s", s, out.String())
				}
			}
		})
	}
}

// TestCheckNoLossRounding: a connector may round each span's adjusted count
// to a whole number (th:e666 stands for 9.9994 chains; counted as 10).
func TestCheckNoLossRounding(t *testing.T) {
	tr := truth{sampled: 1000, adjusted: 9.99938968568813}
	for _, tt := range []struct {
		counted float64
		ok      bool
	}{
		{9999.38968568813, true}, // extrapolated exactly
		{10000, true},            // rounded per span
		{1000, true},             // not extrapolated
		{9990, false},            // one chain short
	} {
		if err := checkNoLoss(tt.counted, tr); (err == nil) != tt.ok {
			t.Errorf("checkNoLoss(%v) = %v, want ok %v", tt.counted, err, tt.ok)
		}
	}
}
