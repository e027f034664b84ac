package schema

// AttrRedactedCount is the summary attribute a collector's eppscoring
// processor (strip mode) puts on a span it removed attributes from: the
// number of attributes removed (int). It carries no endpoint identity, so it
// is allowed on every schema span, and a second pass of the processor adds
// to it instead of removing it.
const AttrRedactedCount = "llm_d.epp.redacted.count"
