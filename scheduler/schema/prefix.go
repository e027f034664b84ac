package schema

// The prefix-cache scorer's own span, SpanScorePrefixCache, nests under the
// prefix-cache scorer's span (ScorerSpanPrefix + "prefix-cache-scorer") and
// carries upstream's keys: see UpstreamAttributes(SpanScorePrefixCache).
//
// The span is not a schema span (Classify says NotSchema) and its keys are
// deliberately absent from KeyType and Attributes, whose scope is the two
// schema span kinds. Like them, its keys are request-level: none names an
// endpoint.

// AttrPrefixBlocks is the number of prompt blocks the scorer hashed and
// matched against the endpoints' caches (int).
//
// Deprecated: it was this module's own key on SpanScorePrefixCache, which
// now carries upstream's keys only (PrefixCacheAttributes). It is kept so
// that collectors keep recognising spans from older senders.
const AttrPrefixBlocks = "llm_d.epp.prefix_cache.prompt_blocks"

// PrefixCacheAttributes returns the keys of the prefix-cache scorer's own
// span, upstream's, as a fresh slice (for docs, config validation and
// tests). It is UpstreamAttributes(SpanScorePrefixCache).
func PrefixCacheAttributes() []Attribute {
	return UpstreamAttributes(SpanScorePrefixCache)
}
