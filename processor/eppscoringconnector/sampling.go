package eppscoringconnector

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

// Sampling-aware counts, per the OpenTelemetry probability sampling
// specification: a sampler that keeps a span writes its rejection threshold
// T into the W3C tracestate as `ot=th:<1-14 hex digits>` (T over 2^56, the
// trailing zeros dropped), and the span stands for 2^56 / (2^56 - T) spans,
// its adjusted count. Senders whose sampler writes no threshold (the OTel
// SDKs' traceidratio samplers, upstream EPP's) get the ratio configured for
// their service.name.

// maxAdjustedCount is 2^56, the threshold's range.
const maxAdjustedCount = 1 << 56

// Sampling methods of a series, the sampling.method attribute's values
// (methodNone when the attribute is disabled).
const (
	methodNone uint8 = iota
	methodCounted
	methodExtrapolated
)

// Outcomes of reading a tracestate's threshold.
const (
	thresholdAbsent = iota
	thresholdValid
	thresholdInvalid
)

// parseThreshold finds th in the ot entry of a W3C tracestate and returns
// the rejection threshold. It does not allocate. A th that is not 1 to 14
// lowercase hex digits is invalid; the rest of the ot entry (rv, other
// keys) is not read.
func parseThreshold(ts string) (threshold uint64, outcome int) {
	for len(ts) > 0 {
		var member string
		if i := strings.IndexByte(ts, ','); i >= 0 {
			member, ts = ts[:i], ts[i+1:]
		} else {
			member, ts = ts, ""
		}
		member = strings.Trim(member, " \t") // W3C allows optional white space
		if !strings.HasPrefix(member, "ot=") {
			continue
		}
		for v := member[len("ot="):]; len(v) > 0; {
			var kv string
			if i := strings.IndexByte(v, ';'); i >= 0 {
				kv, v = v[:i], v[i+1:]
			} else {
				kv, v = v, ""
			}
			if strings.HasPrefix(kv, "th:") {
				return parseThresholdValue(kv[len("th:"):])
			}
		}
		return 0, thresholdAbsent // an ot entry without th (rv only)
	}
	return 0, thresholdAbsent
}

func parseThresholdValue(s string) (uint64, int) {
	if len(s) == 0 || len(s) > 14 {
		return 0, thresholdInvalid
	}
	var t uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			t = t<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			t = t<<4 | uint64(c-'a'+10)
		default:
			return 0, thresholdInvalid
		}
	}
	return t << (4 * (14 - len(s))), thresholdValid
}

// samplingState turns spans into adjusted counts: it caches the last
// tracestate read (the spans of one trace share it) and rounds non-integer
// counts stochastically. The aggregator's lock guards it.
type samplingState struct {
	enabled  bool // the sampling.method attribute is on
	ratios   map[string]float64
	fallback float64 // weight for services not in ratios (1 / default_ratio)

	lastTS      string
	lastWeight  float64
	lastOutcome int

	rng uint64 // xorshift64* state, never 0
}

func newSamplingState(cfg *Config) samplingState {
	s := samplingState{
		enabled:  cfg.EnableMetricsSamplingMethod,
		fallback: 1 / cfg.Sampling.DefaultRatio,
		ratios:   make(map[string]float64, len(cfg.Sampling.RatioByService)),
		rng:      0x9e3779b97f4a7c15, // fixed: the same input rounds the same way
	}
	for svc, r := range cfg.Sampling.RatioByService {
		s.ratios[svc] = 1 / r
	}
	return s
}

// fallbackWeight returns the adjusted count of a resource's spans that
// carry no threshold: 1 / the ratio configured for its service.name.
func (s *samplingState) fallbackWeight(res pcommon.Resource) float64 {
	if len(s.ratios) > 0 {
		if v, ok := res.Attributes().Get(string(semconv.ServiceNameKey)); ok && v.Type() == pcommon.ValueTypeStr {
			if w, ok := s.ratios[v.Str()]; ok {
				return w
			}
		}
	}
	return s.fallback
}

// weight returns a span's adjusted count, whether it was extrapolated, and
// whether its tracestate held an invalid threshold (then the fallback
// applies, as for a span without one).
func (s *samplingState) weight(span ptrace.Span, fallback float64) (w float64, extrapolated, invalid bool) {
	ts := span.TraceState().AsRaw()
	if ts == "" {
		return fallback, fallback != 1, false
	}
	if ts != s.lastTS {
		t, outcome := parseThreshold(ts)
		s.lastTS, s.lastOutcome = ts, outcome
		if outcome == thresholdValid {
			s.lastWeight = float64(maxAdjustedCount) / float64(maxAdjustedCount-t)
		}
	}
	switch s.lastOutcome {
	case thresholdValid:
		// As contrib: a valid threshold, th:0 (keep everything) included,
		// makes the count extrapolated.
		return s.lastWeight, true, false
	case thresholdInvalid:
		return fallback, fallback != 1, true
	}
	return fallback, fallback != 1, false
}

// method returns the series' sampling.method for an observation.
func (s *samplingState) method(extrapolated bool) uint8 {
	switch {
	case !s.enabled:
		return methodNone
	case extrapolated:
		return methodExtrapolated
	}
	return methodCounted
}

// round turns an adjusted count into an integer with an unbiased
// stochastic rounding (contrib's choice): floor(w), plus one with
// probability w - floor(w). Histogram bucket counts are integers, and
// rounding each observation keeps a series' counts, sums and bucket counts
// consistent with one another.
func (s *samplingState) round(w float64) uint64 {
	if w == 1 { // unsampled spans: the common case, no conversion
		return 1
	}
	n := uint64(w)
	frac := w - float64(n)
	if frac <= 0 {
		return n
	}
	// xorshift64*: fast, and enough for rounding.
	x := s.rng
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	s.rng = x
	if float64((x*0x2545F4914F6CDD1D)>>11)/(1<<53) < frac {
		n++
	}
	return n
}
