package schema

// Attribute keys that upstream EPP puts on its own scheduling spans. This
// module never emits them; collectors and tests need them because upstream's
// pick_endpoints span carries endpoint identities under them (the known leak
// the processor removes).
const (
	// AttrPickerTopEndpoints is upstream's string slice of up to five picked
	// endpoint ids ("namespace/pod") on SpanPickEndpoints.
	AttrPickerTopEndpoints = "llm_d.epp.picker.top_endpoints"
	// AttrPickerTopScores is upstream's float slice of the scores that go
	// with AttrPickerTopEndpoints.
	AttrPickerTopScores = "llm_d.epp.picker.top_scores"
)
