package schema

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		want SpanKind
	}{
		{SpanScoring, Scoring},
		{ScorerSpanPrefix + "queue-scorer", Scorer},
		{ScorerSpanOverflow, Scorer},
		{ScorerSpanPrefix, NotSchema}, // a prefix with no type is not a scorer span
		{"llm_d.epp.scorer", NotSchema},
		{"llm_d.epp.scoring.x", NotSchema},
		{"llm_d.epp.scorers", NotSchema},
		{"llm_d.epp.scorer.x", Scorer},
		{"llm_d.epp.scorinG", NotSchema},
		{"llm_d.epp.scor", NotSchema},
		{"xlm_d.epp.scoring", NotSchema},
		{SpanPickEndpoints, NotSchema},
		{"", NotSchema},
	}
	for _, tt := range tests {
		if got := Classify(tt.name); got != tt.want {
			t.Errorf("Classify(%q) = %d, want %d", tt.name, got, tt.want)
		}
	}
	if typ, ok := ScorerType(ScorerSpanPrefix + "lora-affinity-scorer"); !ok || typ != "lora-affinity-scorer" {
		t.Errorf("ScorerType = %q, %v", typ, ok)
	}
	if _, ok := ScorerType(SpanScoring); ok {
		t.Error("ScorerType accepted the parent span")
	}
}

// TestAttributesAgreeWithKeyType keeps the two views of the schema (the
// listing and the per-span switch) from drifting apart.
func TestAttributesAgreeWithKeyType(t *testing.T) {
	for _, kind := range []SpanKind{Scoring, Scorer} {
		attrs := Attributes(kind)
		if len(attrs) == 0 {
			t.Fatalf("kind %d lists no attributes", kind)
		}
		seen := map[string]bool{}
		for _, a := range attrs {
			if seen[a.Key] {
				t.Errorf("kind %d lists %q twice", kind, a.Key)
			}
			seen[a.Key] = true
			if got := KeyType(kind, a.Key); got != a.Type {
				t.Errorf("KeyType(%d, %q) = %v, listed as %v", kind, a.Key, got, a.Type)
			}
		}
	}
	if KeyType(Scoring, AttrScorerType) != TypeNone {
		t.Error("a scorer key is allowed on the parent span")
	}
	if KeyType(Scorer, AttrScorerCount) != TypeNone {
		t.Error("a parent key is allowed on a scorer span")
	}
	if KeyType(NotSchema, AttrRequestModel) != TypeNone {
		t.Error("keys are allowed on non-schema spans")
	}
}

func TestKeyTypeDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_ = KeyType(Scorer, AttrScoreAvg)
		_ = Classify(ScorerSpanPrefix + "x")
	})
	if allocs != 0 {
		t.Errorf("allocs = %v, want 0", allocs)
	}
}

// TestUpstreamAttributes checks the listing of upstream's keys: every span
// name that upstream emits has keys, each listed once with a type, and the
// only keys this module omits are the ones naming endpoints.
func TestUpstreamAttributes(t *testing.T) {
	names := append(UpstreamSpans(), SpanScoring, ScorerSpanPrefix, SpanPickDisaggProfile, SpanPrepareDisaggregation)
	for _, name := range names {
		attrs := UpstreamAttributes(name)
		if len(attrs) == 0 {
			t.Errorf("%s: no keys listed", name)
		}
		seen := map[string]bool{}
		for _, a := range attrs {
			if seen[a.Key] || a.Type == TypeNone {
				t.Errorf("%s: %q listed twice or without a type", name, a.Key)
			}
			seen[a.Key] = true
		}
	}
	if UpstreamAttributes("gateway.request") != nil {
		t.Error("keys listed for a span upstream's scheduler does not make")
	}
	// The schema spans' upstream keys are all in the schema's allow-list.
	for _, c := range []struct {
		name string
		kind SpanKind
	}{{SpanScoring, Scoring}, {ScorerSpanPrefix, Scorer}} {
		for _, a := range UpstreamAttributes(c.name) {
			if got := KeyType(c.kind, a.Key); got != a.Type {
				t.Errorf("%s: upstream's %q (%v) has KeyType %v", c.name, a.Key, a.Type, got)
			}
		}
	}
	if !OmittedUpstreamKey(SpanPickEndpoints, AttrPickerTopEndpoints) || OmittedUpstreamKey(SpanPickEndpoints, AttrPickerTopScores) {
		t.Error("OmittedUpstreamKey: pick_endpoints omits exactly the endpoint ids")
	}
}
