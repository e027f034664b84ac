package schema

import (
	"strings"
	"testing"
)

func TestRedactedCountIsOutsideTheScorerSchema(t *testing.T) {
	// The summary key must not collide with a schema key or sit under a
	// schema key's family, or the processor would read it as a per-endpoint
	// breakdown of that key.
	for _, kind := range []SpanKind{Scoring, Scorer} {
		if KeyType(kind, AttrRedactedCount) != TypeNone {
			t.Fatalf("%s is a schema key of kind %d", AttrRedactedCount, kind)
		}
		for _, a := range Attributes(kind) {
			if strings.HasPrefix(AttrRedactedCount, a.Key+".") {
				t.Fatalf("%s extends schema key %s", AttrRedactedCount, a.Key)
			}
		}
	}
	if strings.HasPrefix(AttrRedactedCount, ScorerSpanPrefix) {
		t.Fatalf("%s sits under the scorer prefix %s", AttrRedactedCount, ScorerSpanPrefix)
	}
}
