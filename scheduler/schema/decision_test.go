package schema

import "testing"

// TestExtensionsAreSchemaKeysUpstreamLacks: each decision key is allowed
// (KeyType, Attributes) on exactly the span kind Extension names, with the
// same type, and upstream's own schema spans never carry it.
func TestExtensionsAreSchemaKeysUpstreamLacks(t *testing.T) {
	want := map[SpanKind]map[string]Type{
		Scoring: {AttrScoringMargin: TypeFloat, AttrScoringTied: TypeInt},
		Scorer:  {AttrScorerDecisive: TypeBool},
	}
	upstreamName := map[SpanKind]string{Scoring: SpanScoring, Scorer: ScorerSpanPrefix}
	for kind, keys := range want {
		listed := map[string]Type{}
		for _, a := range Attributes(kind) {
			listed[a.Key] = a.Type
		}
		for _, a := range UpstreamAttributes(upstreamName[kind]) {
			if Extension(kind, a.Key) != TypeNone {
				t.Errorf("upstream's key %q counted as our extension", a.Key)
			}
		}
		for key, typ := range keys {
			if got := Extension(kind, key); got != typ {
				t.Errorf("Extension(%d, %q) = %v, want %v", kind, key, got, typ)
			}
			if got := KeyType(kind, key); got != typ {
				t.Errorf("KeyType(%d, %q) = %v, want %v", kind, key, got, typ)
			}
			if listed[key] != typ {
				t.Errorf("Attributes(%d) lists %q as %v, want %v", kind, key, listed[key], typ)
			}
			for other := range want {
				if other != kind && (Extension(other, key) != TypeNone || KeyType(other, key) != TypeNone) {
					t.Errorf("%q allowed on span kind %d too", key, other)
				}
			}
		}
	}
	if Extension(NotSchema, AttrScorerDecisive) != TypeNone || Extension(Scoring, AttrScorerCount) != TypeNone {
		t.Error("Extension accepts a key that is not a decision signal where asked")
	}
}
