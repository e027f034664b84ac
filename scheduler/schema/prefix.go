package schema

// Attributes of upstream's prefix-cache scorer span, SpanScorePrefixCache,
// which nests under the prefix-cache scorer's span
// (ScorerSpanPrefix + "prefix-cache-scorer").
//
// The span is not a schema span (Classify says NotSchema) and its keys are
// deliberately absent from KeyType and Attributes, whose scope is the two
// schema span kinds. Like them, these keys are request-level: none names an
// endpoint.
const (
	// AttrPrefixBlocks is the number of prompt blocks the scorer hashed and
	// matched against the endpoints' caches (int).
	AttrPrefixBlocks = "llm_d.epp.prefix_cache.prompt_blocks"
)

// PrefixCacheAttributes returns the keys of the prefix-cache scorer's own
// span, as a fresh slice (for docs, config validation and tests).
func PrefixCacheAttributes() []Attribute {
	return []Attribute{{AttrPrefixBlocks, TypeInt}}
}
