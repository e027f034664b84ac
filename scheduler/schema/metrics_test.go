package schema

import (
	"strings"
	"testing"
)

func TestMetricsNamespaceAndUniqueness(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range Metrics() {
		if !strings.HasPrefix(name, "llm_d.epp.") {
			t.Errorf("metric %q is outside the llm_d.epp. namespace", name)
		}
		if seen[name] {
			t.Errorf("metric %q listed twice", name)
		}
		seen[name] = true
	}
	for _, fixed := range []string{"llm_d.epp.scorer.duration", "llm_d.epp.scoring.duration"} {
		if !seen[fixed] {
			t.Errorf("metric %q, fixed by the issue, is missing", fixed)
		}
	}
}

func TestOverflowKeyIsNotASpanAttribute(t *testing.T) {
	// The overflow marker must never be mistaken for a span attribute the
	// processor lets through or the connector reads.
	for _, kind := range []SpanKind{Scoring, Scorer} {
		if KeyType(kind, AttrMetricOverflow) != TypeNone {
			t.Errorf("overflow key %q is a schema attribute of kind %d", AttrMetricOverflow, kind)
		}
	}
}

func TestMetricAttributesAreNotSpanAttributes(t *testing.T) {
	// Keys the connector adds to its series must not collide with the span
	// schema's keys: a dashboard could not tell which one it reads.
	for _, key := range []string{AttrSamplingMethod, AttrCollectorInstanceID} {
		for _, kind := range []SpanKind{Scoring, Scorer} {
			if KeyType(kind, key) != TypeNone {
				t.Errorf("metric key %q is a schema attribute of kind %d", key, kind)
			}
		}
	}
	if SamplingMethodExtrapolated == SamplingMethodCounted {
		t.Error("the two sampling methods must differ")
	}
}
