package eppscoringprocessor

import (
	"strings"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// scoreFamily is the key family of the schema's per-endpoint aggregates
// (score max and avg): scores are per endpoint by nature, so any other key
// under it is a per-endpoint score ("llm_d.epp.scorer.score.<pod>").
var scoreFamily = schema.AttrScoreMax[:strings.LastIndexByte(schema.AttrScoreMax, '.')+1]

// schemaKeys are every key of the schema, for the "<schema key>.<sub>" rule.
var schemaKeys = func() []string {
	seen := map[string]bool{}
	var keys []string
	for _, kind := range []schema.SpanKind{schema.Scoring, schema.Scorer} {
		for _, a := range schema.Attributes(kind) {
			if !seen[a.Key] {
				seen[a.Key] = true
				keys = append(keys, a.Key)
			}
		}
	}
	return keys
}()

// isEndpointKey reports whether a key embeds an endpoint identity: it
// extends a schema key ("llm_d.epp.scorer.endpoints_scored.<pod>"), sits in
// the score family without being a schema key, holds an IPv4 address (as a
// run of segments, "score.10.0.0.7", or glued, "score_10.0.0.7"), or one of
// its dot-separated segments names an endpoint without pod context (key
// segments like "gpu-0" are common, so a StatefulSet shape does not count).
func isEndpointKey(key string) bool {
	if strings.HasPrefix(key, scoreFamily) && schema.KeyType(schema.Scorer, key) == schema.TypeNone {
		return true
	}
	for _, k := range schemaKeys {
		if len(key) > len(k) && key[len(k)] == '.' && key[:len(k)] == k {
			return true
		}
	}
	// One pass: a segment's shape is counted as it is read, and most
	// segments are words ("llm_d", "picker") that no check needs to see.
	var sh shape
	glued := false
	numeric, start := 0, 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '.' {
			if c := key[i]; isDigit(c) && i > start && !isLetter(key[i-1]) && !isDigit(key[i-1]) && ipv4At(key, i) {
				return true // glued to a word inside the segment: "score_10.0.0.7"
			}
			class := byteClass[key[i]]
			sh.add(class)
			if class == classGlue {
				glued = true
			}
			continue
		}
		seg, segShape, segGlued := key[start:i], sh, glued
		start, sh, glued = i+1, shape{}, false
		if isOctet(seg) {
			numeric++
			if numeric == 4 {
				return true
			}
			continue
		}
		if c := strings.IndexByte(seg, ':'); numeric == 3 && c > 0 && isOctet(seg[:c]) && isPort(seg[c+1:]) {
			return true
		}
		numeric = 0
		// Only the punctuation of a pod name, host:port, IPv6 or a path is
		// worth a closer look.
		if len(seg) >= 3 && (segShape.dashes >= 2 || segShape.colons > 0 || segShape.slashes > 0) && isShapedToken(seg, "", segShape, segGlued) {
			return true
		}
	}
	return false
}
