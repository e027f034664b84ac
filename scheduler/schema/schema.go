// Package schema is the single source of truth for the scoring-path span
// schema: span names, attribute keys and the value type of each key.
//
// It has no dependencies on purpose: the scheduler module uses it to emit
// spans, the collector components (processor and connector) import it to
// enforce and read them, and none of them may retype a key string.
//
// The rule the schema encodes: attributes on scoring spans are request- and
// chain-level only. No key or value names an endpoint (pod name, IP,
// host:port, namespaced name).
package schema

// Span names.
const (
	// SpanScoring is the parent span over a profile's scorer chain.
	SpanScoring = spanNameHead + scoringTail
	// ScorerSpanPrefix prefixes the child span of one scorer invocation:
	// the full name is ScorerSpanPrefix + the scorer's type.
	ScorerSpanPrefix = spanNameHead + scorerTail
	// ScorerSpanOverflow is the scorer span name a collector uses in place of
	// a scorer type that names an endpoint or lies beyond its limit of
	// distinct types.
	ScorerSpanOverflow = ScorerSpanPrefix + "_other"
)

// Attribute keys on the parent span (SpanScoring).
const (
	// AttrScorerCount is the number of scorers in the chain (int).
	AttrScorerCount = "llm_d.epp.scorer.count"
	// AttrScoringCandidates is the number of endpoints the chain scored (int).
	AttrScoringCandidates = "llm_d.epp.scoring.candidate_endpoints"
	// AttrRequestModel is the target model of the request (string, only when non-empty).
	AttrRequestModel = "gen_ai.request.model"
	// AttrRequestID is the request id (string, only when non-empty).
	AttrRequestID = "gen_ai.request.id"
)

// Attribute keys on a scorer span (ScorerSpanPrefix + type).
const (
	// AttrScorerType is the scorer's plugin type (string).
	AttrScorerType = "llm_d.epp.scorer.type"
	// AttrScorerName is the scorer's plugin name (string); it tells apart two
	// scorers of the same type.
	AttrScorerName = "llm_d.epp.scorer.name"
	// AttrScorerWeight is the scorer's weight in the chain (float).
	AttrScorerWeight = "llm_d.epp.scorer.weight"
	// AttrScorerCandidates is the number of endpoints passed to the scorer (int).
	AttrScorerCandidates = "llm_d.epp.scorer.candidate_endpoints"
	// AttrScoreMax is the largest score the scorer returned (float; only when
	// it returned at least one score). Like upstream's, it is of the raw
	// scores, before clamping to [0,1] and weighting; a NaN score (no score)
	// is skipped.
	AttrScoreMax = "llm_d.epp.scorer.score.max"
	// AttrScoreAvg is the mean score the scorer returned (float; only when it
	// returned at least one score), of the raw scores as AttrScoreMax.
	AttrScoreAvg = "llm_d.epp.scorer.score.avg"
	// AttrEndpointsScored is the number of endpoints the scorer returned a
	// score for (int; only when non-zero).
	AttrEndpointsScored = "llm_d.epp.scorer.endpoints_scored"
)

// Type is the value type an attribute key of the schema carries.
type Type uint8

// Value types of schema attributes.
const (
	// TypeNone means the key is not part of the schema.
	TypeNone Type = iota
	// TypeString is a string value.
	TypeString
	// TypeInt is a 64-bit integer value.
	TypeInt
	// TypeFloat is a 64-bit float value.
	TypeFloat
	// TypeBool is a boolean value (upstream spans, and our decision
	// extension: AttrScorerDecisive).
	TypeBool
	// TypeStringSlice is a slice of strings (upstream spans only).
	TypeStringSlice
	// TypeFloatSlice is a slice of 64-bit floats (upstream spans only).
	TypeFloatSlice
)

// String returns the type's name as used in docs and error messages.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeFloat:
		return "double"
	case TypeBool:
		return "bool"
	case TypeStringSlice:
		return "string[]"
	case TypeFloatSlice:
		return "double[]"
	default:
		return "none"
	}
}

// SpanKind says which schema span a name is.
type SpanKind uint8

// Kinds of schema spans.
const (
	// NotSchema is any span that is not a schema span.
	NotSchema SpanKind = iota
	// Scoring is the parent span, SpanScoring.
	Scoring
	// Scorer is a child span, ScorerSpanPrefix + type.
	Scorer
)

// The two schema span names in parts. Both names are 17 bytes, one past
// the 16 that the compiler compares against a constant without calling
// memequal: Classify compares the shared head and then the tail, each
// inline, which matters in loops that classify every span of a batch.
const (
	spanNameHead = "llm_d.epp.scor"
	scoringTail  = "ing"
	scorerTail   = "er."
)

// Classify tells whether a span name is a schema span and which. It does
// not allocate; it is meant for per-span loops.
func Classify(spanName string) SpanKind {
	if len(spanName) < len(SpanScoring) || spanName[:len(spanNameHead)] != spanNameHead {
		return NotSchema
	}
	tail := spanName[len(spanNameHead):]
	switch {
	case tail == scoringTail:
		return Scoring
	case len(tail) > len(scorerTail) && tail[:len(scorerTail)] == scorerTail:
		return Scorer
	}
	return NotSchema
}

// ScorerType returns the scorer type of a scorer span name, and false when
// the name is not a scorer span.
func ScorerType(spanName string) (string, bool) {
	if Classify(spanName) != Scorer {
		return "", false
	}
	return spanName[len(ScorerSpanPrefix):], true
}

// KeyType returns the value type of key on a span of the given kind, or
// TypeNone when the key is not allowed there. It does not allocate.
func KeyType(kind SpanKind, key string) Type {
	switch kind {
	case Scoring:
		switch key {
		case AttrScorerCount, AttrScoringCandidates:
			return TypeInt
		case AttrRequestModel, AttrRequestID:
			return TypeString
		}
		return Extension(kind, key)
	case Scorer:
		switch key {
		case AttrScorerType, AttrScorerName:
			return TypeString
		case AttrScorerWeight, AttrScoreMax, AttrScoreAvg:
			return TypeFloat
		case AttrScorerCandidates, AttrEndpointsScored:
			return TypeInt
		case AttrRequestModel, AttrRequestID:
			// Not emitted on scorer spans by this module, but request-level
			// and allowed: an instrumentation that puts the model on the
			// child makes the connector's parent join unnecessary.
			return TypeString
		}
		return Extension(kind, key)
	}
	return TypeNone
}

// Attribute describes one attribute key of the schema.
type Attribute struct {
	Key  string
	Type Type
}

// Attributes returns the keys allowed on spans of the given kind, in a fixed
// order, as a fresh slice (for docs, config validation and tests; per-span
// code uses KeyType).
func Attributes(kind SpanKind) []Attribute {
	switch kind {
	case Scoring:
		return []Attribute{
			{AttrScorerCount, TypeInt},
			{AttrScoringCandidates, TypeInt},
			{AttrRequestModel, TypeString},
			{AttrRequestID, TypeString},
			{AttrScoringMargin, TypeFloat},
			{AttrScoringTied, TypeInt},
		}
	case Scorer:
		return []Attribute{
			{AttrScorerType, TypeString},
			{AttrScorerName, TypeString},
			{AttrScorerWeight, TypeFloat},
			{AttrScorerCandidates, TypeInt},
			{AttrScoreMax, TypeFloat},
			{AttrScoreAvg, TypeFloat},
			{AttrEndpointsScored, TypeInt},
			{AttrRequestModel, TypeString},
			{AttrRequestID, TypeString},
			{AttrScorerDecisive, TypeBool},
		}
	}
	return nil
}

// UpstreamSpans returns upstream's scheduling span names that sit in scoring
// traces, as a fresh slice.
func UpstreamSpans() []string {
	return []string{SpanRunSchedulerProfile, SpanFilterEndpoints, SpanPickEndpoints, SpanScorePrefixCache}
}
