package schema

import (
	"strings"
	"testing"
)

// TestPrefixCacheAttributes checks that the prefix span's keys stay outside
// the schema spans' allow-lists (they belong to an upstream span) and that
// the span they sit on is not mistaken for a schema span.
func TestPrefixCacheAttributes(t *testing.T) {
	if got := Classify(SpanScorePrefixCache); got != NotSchema {
		t.Fatalf("Classify(%q) = %d, want NotSchema", SpanScorePrefixCache, got)
	}
	attrs := PrefixCacheAttributes()
	if len(attrs) == 0 {
		t.Fatal("no prefix-cache attributes listed")
	}
	for _, a := range attrs {
		if a.Type == TypeNone {
			t.Errorf("%q listed without a type", a.Key)
		}
		if !strings.HasPrefix(a.Key, "llm_d.epp.") {
			t.Errorf("%q is outside the llm_d.epp namespace", a.Key)
		}
		for _, kind := range []SpanKind{Scoring, Scorer} {
			if KeyType(kind, a.Key) != TypeNone {
				t.Errorf("%q is allowed on schema span kind %d", a.Key, kind)
			}
			for _, s := range Attributes(kind) {
				if s.Key == a.Key {
					t.Errorf("%q duplicates a schema key of kind %d", a.Key, kind)
				}
			}
		}
	}
}
