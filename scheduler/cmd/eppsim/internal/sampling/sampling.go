// Package sampling is the OpenTelemetry TraceIdRatioBased sampler as the
// probability sampling specification defines it
// (https://opentelemetry.io/docs/specs/otel/trace/tracestate-probability-sampling/):
// a consistent decision on the trace's 56 bits of randomness, and the
// rejection threshold written into the sampled span's W3C tracestate as
// ot=th:<hex>, so that whoever counts the spans downstream (the
// eppscoring connector, contrib's spanmetrics) can extrapolate them.
//
// The OTel Go SDK's own TraceIDRatioBased (v1.47) compares 63 bits of the
// trace id and writes no threshold, and contrib's consistent sampler is not
// served at a version that builds with it: hence this small package.
package sampling

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const (
	// RandomnessBits is the width of the randomness and of the threshold.
	RandomnessBits = 56
	// MaxAdjustedCount is 2^56: one sampled span stands for at most that many.
	MaxAdjustedCount uint64 = 1 << RandomnessBits
	// MinProbability is the smallest sampling probability there is, 2^-56.
	MinProbability = 1.0 / float64(MaxAdjustedCount)
	// DefaultPrecision is the number of significant hex digits a threshold
	// keeps: the specification recommends 4 to SDKs.
	DefaultPrecision = 4
	// maxDigits is the number of hex digits of a 56-bit value.
	maxDigits = RandomnessBits / 4
	// randomnessMask keeps the lowest 56 bits of a trace id.
	randomnessMask = MaxAdjustedCount - 1

	// OTKey is the OpenTelemetry entry of the W3C tracestate.
	OTKey = "ot"
	// ThresholdKey is the sub-key of the ot entry carrying the threshold.
	ThresholdKey = "th"
	// RandomnessKey is the sub-key of the ot entry carrying explicit randomness.
	RandomnessKey = "rv"
)

// Threshold is a rejection threshold: a span whose randomness R is at least
// the threshold is sampled, so the sampling probability is (2^56 - T)/2^56.
// Zero samples everything.
type Threshold uint64

// ProbabilityToThreshold returns the threshold of sampling probability p,
// rounded to precision significant hex digits (1..14; leading f digits,
// which only say how close to zero p is, do not count against it), as the
// specification's algorithm does. Probabilities between 0 and 2^-56 round
// up to 2^-56, the smallest there is; p must be in (0, 1].
func ProbabilityToThreshold(p float64, precision int) (Threshold, error) {
	if !(p > 0 && p <= 1) {
		return 0, fmt.Errorf("sampling probability %v out of range (0, 1]", p)
	}
	if precision < 1 || precision > maxDigits {
		return 0, fmt.Errorf("threshold precision %d out of range [1, %d]", precision, maxDigits)
	}
	// p*2^56 only moves the exponent: exact; rounding makes it an integer.
	kept := max(uint64(math.Round(p*float64(MaxAdjustedCount))), 1)
	t := MaxAdjustedCount - min(kept, MaxAdjustedCount)
	lead := 0
	for lead < maxDigits && (t>>(4*(maxDigits-1-lead)))&0xf == 0xf {
		lead++
	}
	digits := min(maxDigits, precision+lead)
	if shift := uint(4 * (maxDigits - digits)); shift > 0 {
		// Round half up at the last kept digit. The digit after the leading
		// f's is not an f, so the carry stops there: no overflow past 2^56.
		t = (t + 1<<(shift-1)) >> shift << shift
	}
	return Threshold(t), nil
}

// ParseThreshold reads a th value: 1 to 14 lowercase hex digits, as if
// padded with trailing zeros to 14.
func ParseThreshold(s string) (Threshold, error) {
	if len(s) == 0 || len(s) > maxDigits {
		return 0, fmt.Errorf("threshold %q: want 1 to %d hex digits", s, maxDigits)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return 0, fmt.Errorf("threshold %q: want lowercase hex digits", s)
		}
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("threshold %q: %w", s, err)
	}
	return Threshold(v << (4 * (maxDigits - len(s)))), nil
}

// String is the th encoding: 14 hex digits with trailing zeros removed,
// "0" for the threshold that samples everything.
func (t Threshold) String() string {
	if t == 0 {
		return "0"
	}
	return strings.TrimRight(fmt.Sprintf("%014x", uint64(t)), "0")
}

// Probability is the sampling probability the threshold stands for.
func (t Threshold) Probability() float64 {
	return float64(MaxAdjustedCount-uint64(t)) / float64(MaxAdjustedCount)
}

// AdjustedCount is how many spans one sampled span stands for: 1/Probability.
func (t Threshold) AdjustedCount() float64 {
	return float64(MaxAdjustedCount) / float64(MaxAdjustedCount-uint64(t))
}

// ShouldSample is the specification's decision: randomness >= threshold.
func (t Threshold) ShouldSample(randomness uint64) bool {
	return randomness >= uint64(t)
}

// Randomness returns the trace's randomness: the ot entry's explicit rv
// when it holds one (exactly 14 hex digits), else the lowest 56 bits of the
// trace id (W3C Trace Context Level 2).
func Randomness(traceID trace.TraceID, ts trace.TraceState) uint64 {
	if rv, ok := otValue(ts.Get(OTKey), RandomnessKey); ok && len(rv) == maxDigits {
		if v, err := strconv.ParseUint(rv, 16, 64); err == nil && strings.ToLower(rv) == rv {
			return v
		}
	}
	return binary.BigEndian.Uint64(traceID[8:16]) & randomnessMask
}

// otValue returns the value of sub-key key in an ot entry ("k:v;k:v").
func otValue(ot, key string) (string, bool) {
	for ot != "" {
		var kv string
		kv, ot, _ = strings.Cut(ot, ";")
		if k, v, ok := strings.Cut(kv, ":"); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// withThreshold returns ts whose ot entry carries th (first, in place of
// any earlier th; the entry's other sub-keys are kept in order), or no th at
// all when th is empty. An ot entry left empty is removed.
func withThreshold(ts trace.TraceState, th string) (trace.TraceState, error) {
	ot := ts.Get(OTKey)
	var b strings.Builder
	if th != "" {
		b.WriteString(ThresholdKey + ":" + th)
	}
	for rest := ot; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, ";")
		if k, _, _ := strings.Cut(kv, ":"); k == ThresholdKey || kv == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(kv)
	}
	if b.Len() == 0 {
		return ts.Delete(OTKey), nil
	}
	if b.String() == ot {
		return ts, nil
	}
	return ts.Insert(OTKey, b.String())
}

// Sampler is TraceIdRatioBased with thresholds: it ignores the parent's
// sampled flag (wrap it in sdktrace.ParentBased to follow the parent) and
// decides on the trace's randomness alone, so every span of a trace sampled
// at one ratio gets the same decision.
type Sampler struct {
	ratio     float64
	never     bool // ratio 0: "never" is not probability sampling, no th
	threshold Threshold
	th        string // threshold.String(), built once
}

var _ sdktrace.Sampler = (*Sampler)(nil)

// ErrRatio is returned for a ratio outside [0, 1].
var ErrRatio = errors.New("sampling ratio out of range [0, 1]")

// TraceIDRatioBased returns the sampler of ratio (0..1) with the default
// precision. Ratio 1 samples everything and writes th:0; ratio 0 samples
// nothing.
func TraceIDRatioBased(ratio float64) (*Sampler, error) {
	return TraceIDRatioBasedWithPrecision(ratio, DefaultPrecision)
}

// TraceIDRatioBasedWithPrecision is TraceIDRatioBased with a threshold of
// precision significant hex digits (1..14).
func TraceIDRatioBasedWithPrecision(ratio float64, precision int) (*Sampler, error) {
	if !(ratio >= 0 && ratio <= 1) {
		return nil, fmt.Errorf("%w: %v", ErrRatio, ratio)
	}
	s := &Sampler{ratio: ratio}
	if ratio == 0 {
		s.never = true
		return s, nil
	}
	t, err := ProbabilityToThreshold(ratio, precision)
	if err != nil {
		return nil, err
	}
	s.threshold, s.th = t, t.String()
	return s, nil
}

// Threshold returns the threshold written on sampled spans, and false for
// ratio 0 (nothing is sampled).
func (s *Sampler) Threshold() (Threshold, bool) { return s.threshold, !s.never }

// ShouldSample decides on the trace's randomness and writes the threshold
// into the sampled span's tracestate; a dropped span's tracestate carries no
// threshold (its probability is not this sampler's to state).
func (s *Sampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	ts := trace.SpanContextFromContext(p.ParentContext).TraceState()
	if s.never || !s.threshold.ShouldSample(Randomness(p.TraceID, ts)) {
		out, err := withThreshold(ts, "")
		if err != nil {
			out = ts
		}
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: out}
	}
	out, err := withThreshold(ts, s.th)
	if err != nil {
		// The tracestate is full (32 entries) or invalid: sample, but state
		// no probability rather than a wrong one.
		out = ts.Delete(OTKey)
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: out}
}

// Description follows the specification's form, TraceIdRatioBased{RATIO}
// (spelled as the Go SDK spells its own).
func (s *Sampler) Description() string {
	return fmt.Sprintf("TraceIDRatioBased{%g}", s.ratio)
}
