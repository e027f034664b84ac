package sampling

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestSpecTable checks every row of the specification's table of 1-in-N
// thresholds at precisions 3, 4 and 5 ("Converting floating-point
// probability to threshold value").
func TestSpecTable(t *testing.T) {
	tests := []struct {
		p    float64
		want [3]string // precision 3, 4, 5
	}{
		{1, [3]string{"0", "0", "0"}},
		{0.5, [3]string{"8", "8", "8"}},
		{1.0 / 3, [3]string{"aab", "aaab", "aaaab"}},
		{0.25, [3]string{"c", "c", "c"}},
		{0.2, [3]string{"ccd", "cccd", "ccccd"}},
		{0.125, [3]string{"e", "e", "e"}},
		{0.1, [3]string{"e66", "e666", "e6666"}},
		{0.0625, [3]string{"f", "f", "f"}},
		{0.01, [3]string{"fd71", "fd70a", "fd70a4"}},
		{0.001, [3]string{"ffbe7", "ffbe77", "ffbe76d"}},
		{0.0001, [3]string{"fff972", "fff9724", "fff97247"}},
		{0.00001, [3]string{"ffff584", "ffff583a", "ffff583a5"}},
		{0.000001, [3]string{"ffffef4", "ffffef39", "ffffef391"}},
	}
	for _, tt := range tests {
		for i, prec := range []int{3, 4, 5} {
			th, err := ProbabilityToThreshold(tt.p, prec)
			if err != nil {
				t.Fatalf("p %v precision %d: %v", tt.p, prec, err)
			}
			if got := th.String(); got != tt.want[i] {
				t.Errorf("p %v precision %d: th %q, want %q", tt.p, prec, got, tt.want[i])
			}
		}
	}
}

// TestThresholdEdges: full precision and the ends of the range, where
// rounding decides.
func TestThresholdEdges(t *testing.T) {
	tests := []struct {
		name      string
		p         float64
		precision int
		want      string
	}{
		// 0.1 is 0x1.999999999999ap-4: 0.1*2^56 = 0x1999999999999a exactly.
		{"0.1 at full precision", 0.1, 14, "e6666666666666"},
		{"0.5 at full precision", 0.5, 14, "8"},
		{"1 at full precision", 1, 14, "0"},
		{"2^-56, the smallest probability", MinProbability, 4, "ffffffffffffff"},
		{"below 2^-56 rounds up to it", MinProbability / 4, 4, "ffffffffffffff"},
		{"1.5 * 2^-56 rounds to 2 * 2^-56", 1.5 * MinProbability, 14, "fffffffffffffe"},
		{"1.4 * 2^-56 rounds to 2^-56", 1.4 * MinProbability, 14, "ffffffffffffff"},
		{"just below 1 at precision 4 rounds to 1", 1 - 1e-9, 4, "0"},
		{"precision 1", 0.3, 1, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := ProbabilityToThreshold(tt.p, tt.precision)
			if err != nil {
				t.Fatal(err)
			}
			if got := th.String(); got != tt.want {
				t.Errorf("th %q, want %q", got, tt.want)
			}
			back, err := ParseThreshold(tt.want)
			if err != nil || back != th {
				t.Errorf("ParseThreshold(%q) = %x, %v; want %x", tt.want, uint64(back), err, uint64(th))
			}
		})
	}
	for _, bad := range []struct {
		p    float64
		prec int
	}{{0, 4}, {-0.1, 4}, {1.1, 4}, {math.NaN(), 4}, {0.5, 0}, {0.5, 15}} {
		if _, err := ProbabilityToThreshold(bad.p, bad.prec); err == nil {
			t.Errorf("ProbabilityToThreshold(%v, %d) accepted", bad.p, bad.prec)
		}
	}
}

func TestAdjustedCount(t *testing.T) {
	for _, tt := range []struct {
		th   string
		want float64
	}{
		{"0", 1}, {"8", 2}, {"c", 4}, {"e", 8},
		// The specification's exact adjusted count of 0.1 at precision 4.
		{"e666", 9.99938968568813},
	} {
		th, err := ParseThreshold(tt.th)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.AdjustedCount(); math.Abs(got-tt.want) > 1e-12*tt.want {
			t.Errorf("th:%s adjusted count %v, want %v", tt.th, got, tt.want)
		}
	}
	for _, bad := range []string{"", "g", "E6", "123456789abcdef"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("ParseThreshold(%q) accepted", bad)
		}
	}
}

// traceID makes a trace id whose lowest 56 bits are r, and whose other bits
// are set, which must not matter.
func traceID(r uint64) trace.TraceID {
	var id trace.TraceID
	for i := range id {
		id[i] = 0xff
	}
	binary.BigEndian.PutUint64(id[8:], r|0xff<<56)
	return id
}

func sample(t *testing.T, s sdktrace.Sampler, id trace.TraceID, parent trace.TraceState) sdktrace.SamplingResult {
	t.Helper()
	ctx := context.Background()
	if parent.Len() > 0 {
		ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: id, SpanID: trace.SpanID{1}, TraceState: parent,
		}))
	}
	return s.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id, Name: "x"})
}

// TestDecisionAtThreshold: randomness equal to the threshold samples, one
// below drops (rv >= th); the sampled span's tracestate carries th.
func TestDecisionAtThreshold(t *testing.T) {
	s, err := TraceIDRatioBased(0.25)
	if err != nil {
		t.Fatal(err)
	}
	th, ok := s.Threshold()
	if !ok || th.String() != "c" {
		t.Fatalf("threshold %v %v, want c", th, ok)
	}
	at := sample(t, s, traceID(0xc0000000000000), trace.TraceState{})
	if at.Decision != sdktrace.RecordAndSample || at.Tracestate.String() != "ot=th:c" {
		t.Errorf("randomness = threshold: %v, tracestate %q; want sampled with ot=th:c", at.Decision, at.Tracestate.String())
	}
	below := sample(t, s, traceID(0xbfffffffffffff), trace.TraceState{})
	if below.Decision != sdktrace.Drop || below.Tracestate.Len() != 0 {
		t.Errorf("randomness below threshold: %v, tracestate %q; want dropped, empty", below.Decision, below.Tracestate.String())
	}
	if got := s.Description(); got != "TraceIDRatioBased{0.25}" {
		t.Errorf("description %q", got)
	}
}

// TestTracestateHandling: explicit randomness wins over the trace id, other
// ot sub-keys and other vendors' entries are kept, an older th is replaced,
// and a dropped span states no threshold.
func TestTracestateHandling(t *testing.T) {
	s, err := TraceIDRatioBased(0.5)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(v string) trace.TraceState {
		ts, err := trace.ParseTraceState(v)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	tests := []struct {
		name        string
		randomness  uint64
		parent      string
		wantSampled bool
		wantState   string
	}{
		{"rv high wins over a low trace id", 0, "ot=rv:ffffffffffffff;x:1,vendor=a", true, "ot=th:8;rv:ffffffffffffff;x:1,vendor=a"},
		{"rv low wins over a high trace id", 0xffffffffffffff, "ot=rv:00000000000000", false, "ot=rv:00000000000000"},
		{"malformed rv falls back to the trace id", 0xffffffffffffff, "ot=rv:123", true, "ot=th:8;rv:123"},
		{"an older th is replaced", 0xffffffffffffff, "ot=th:c;x:1", true, "ot=th:8;x:1"},
		{"a dropped span loses the parent's th", 0, "ot=th:0,vendor=a", false, "vendor=a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := sample(t, s, traceID(tt.randomness), parse(tt.parent))
			if got := res.Decision == sdktrace.RecordAndSample; got != tt.wantSampled {
				t.Errorf("sampled %v, want %v", got, tt.wantSampled)
			}
			if got := res.Tracestate.String(); got != tt.wantState {
				t.Errorf("tracestate %q, want %q", got, tt.wantState)
			}
		})
	}
}

func TestRatioEnds(t *testing.T) {
	never, err := TraceIDRatioBased(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := never.Threshold(); ok {
		t.Error("ratio 0 states a threshold")
	}
	if res := sample(t, never, traceID(0xffffffffffffff), trace.TraceState{}); res.Decision != sdktrace.Drop {
		t.Error("ratio 0 sampled the highest randomness")
	}
	always, err := TraceIDRatioBased(1)
	if err != nil {
		t.Fatal(err)
	}
	if res := sample(t, always, traceID(0), trace.TraceState{}); res.Decision != sdktrace.RecordAndSample || res.Tracestate.String() != "ot=th:0" {
		t.Errorf("ratio 1 on randomness 0: %v %q", res.Decision, res.Tracestate.String())
	}
	for _, bad := range []float64{-0.01, 1.01, math.NaN()} {
		if _, err := TraceIDRatioBased(bad); err == nil {
			t.Errorf("ratio %v accepted", bad)
		}
	}
}

// TestSampledFraction: over many random trace ids the sampled fraction is
// the threshold's probability (within 5 standard deviations).
func TestSampledFraction(t *testing.T) {
	const n = 200_000
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ratio := range []float64{0.1, 0.25, 0.5} {
		s, err := TraceIDRatioBased(ratio)
		if err != nil {
			t.Fatal(err)
		}
		th, _ := s.Threshold()
		p := th.Probability()
		sampled := 0
		for range n {
			var id trace.TraceID
			binary.BigEndian.PutUint64(id[:8], rng.Uint64())
			binary.BigEndian.PutUint64(id[8:], rng.Uint64())
			if s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: id}).Decision == sdktrace.RecordAndSample {
				sampled++
			}
		}
		sd := math.Sqrt(n * p * (1 - p))
		if diff := math.Abs(float64(sampled) - n*p); diff > 5*sd {
			t.Errorf("ratio %v: sampled %d of %d, want %.0f ± %.0f", ratio, sampled, n, n*p, 5*sd)
		}
	}
}

// TestWithSDK runs the sampler in the real SDK behind ParentBased, as
// eppsim's parentbased_traceidratio does: a trace is sampled whole or not
// at all, and every sampled span carries the threshold.
func TestWithSDK(t *testing.T) {
	for _, parentBased := range []bool{true, false} {
		s, err := TraceIDRatioBased(0.25)
		if err != nil {
			t.Fatal(err)
		}
		var sampler sdktrace.Sampler = s
		if parentBased {
			sampler = sdktrace.ParentBased(s)
		}
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec))
		tr := tp.Tracer("test")
		const roots = 2000
		for range roots {
			ctx, root := tr.Start(context.Background(), "root")
			_, child := tr.Start(ctx, "child")
			child.End()
			root.End()
		}
		perTrace := map[trace.TraceID]int{}
		for _, sp := range rec.Ended() {
			perTrace[sp.SpanContext().TraceID()]++
			if got := sp.SpanContext().TraceState().String(); got != "ot=th:c" {
				t.Errorf("parent-based %v: span %s tracestate %q, want ot=th:c", parentBased, sp.Name(), got)
			}
		}
		for id, n := range perTrace {
			if n != 2 {
				t.Errorf("parent-based %v: trace %s has %d sampled spans, want both", parentBased, id, n)
			}
		}
		// 2000 roots at 0.25: 500 ± 5 standard deviations (19.4 each).
		if n := len(perTrace); n < 403 || n > 597 {
			t.Errorf("parent-based %v: %d of %d traces sampled at 0.25", parentBased, n, roots)
		}
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
