package schema

import "testing"

// TestPrefixCacheAttributes checks that the prefix span is not mistaken for
// a schema span and carries upstream's keys, none of ours.
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
		if a.Key == AttrPrefixBlocks {
			t.Errorf("%q, a key of our own, is listed among upstream's", a.Key)
		}
	}
}
