package eppscoringprocessor

import (
	"net/netip"
	"strings"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// The detector decides whether an attribute value or key names an endpoint.
// It runs in the per-span loop, so it is hand-written over bytes: no regular
// expression, no allocation (netip.ParseAddr runs only on strings that are
// already made of IPv6 characters).
//
// A value is split into tokens at whitespace and punctuation that never
// occurs inside an address (so "picked 10.0.0.7:8000, ..." is caught); a
// token names an endpoint when it is
//   - a URL with a host ("scheme://host..."),
//   - an IPv4 address, with or without ":port" or "/prefix", also glued to
//     a word by punctuation ("prefix-10.0.0.7"),
//   - an IPv6 address (with zone; brackets split it off its port),
//   - host:port where host is an IPv4 address, "localhost", a dotted DNS name,
//     a pod name, or (pod context only) any DNS label,
//   - an in-cluster DNS name (".svc", ".cluster.local"),
//   - a Deployment pod name "<name>-<hash>-<suffix>" (hash 6-10 and suffix 5
//     characters of Kubernetes' safe alphabet),
//   - a StatefulSet pod name "<name>-<ordinal>", in pod context only,
//   - "namespace/name" whose namespace is a DNS label and whose name is one
//     of the above.
//
// Pod context means the attribute key says it holds pods or endpoints (see
// podHints). The StatefulSet shape needs it because it is the shape of
// model names too: "llama-3", "gemma-2" and "meta-llama/llama-3" are
// syntactically a StatefulSet pod and a namespaced one. Under
// "gen_ai.request.model" they pass; under "llm_d.epp.picker.top_endpoints"
// they go.

// safeAlphabet is the alphabet Kubernetes draws generated name suffixes and
// pod-template hashes from (k8s.io/apimachinery/pkg/util/rand): no vowels,
// no 0, 1, 3, so English words and hex ids rarely fit it.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

var safeChar = func() (t [256]bool) {
	for i := 0; i < len(safeAlphabet); i++ {
		t[safeAlphabet[i]] = true
	}
	return t
}()

// podHints are key fragments that make a key a pod context. Matched ASCII
// case-insensitively anywhere in the key.
var podHints = [...]string{"endpoint", "pod", "host", "addr", "replica", "instance", "backend", "peer", "server"}

// isEndpointValue reports whether a string value under key names an endpoint.
// One pass splits the tokens and counts their punctuation (see shape).
func isEndpointValue(key, s string) bool {
	var sh shape
	start := -1
	for i := 0; i < len(s); i++ {
		switch byteClass[s[i]] {
		case classSeparator:
			if start >= 0 {
				if isShapedToken(s[start:i], key, sh) {
					return true
				}
				start, sh = -1, shape{}
			}
			continue
		case classDot:
			sh.dots++
		case classColon:
			sh.colons++
		case classSlash:
			sh.slashes++
		case classDash:
			sh.dashes++
		}
		if start < 0 {
			start = i
		}
	}
	return start >= 0 && isShapedToken(s[start:], key, sh)
}

// Byte classes of the tokeniser. Separators are whitespace and punctuation
// that never occurs inside an address.
const (
	classOther uint8 = iota
	classSeparator
	classDot
	classColon
	classSlash
	classDash
)

var byteClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\v\f,;\"'`()[]{}<>=|\\") {
		t[c] = classSeparator
	}
	t['.'], t[':'], t['/'], t['-'] = classDot, classColon, classSlash, classDash
	return t
}()

// shape counts the punctuation that decides which checks can match, so
// that a plain word costs one pass.
type shape struct{ dots, colons, slashes, dashes int }

func shapeOf(t string) shape {
	var sh shape
	for i := 0; i < len(t); i++ {
		switch byteClass[t[i]] {
		case classDot:
			sh.dots++
		case classColon:
			sh.colons++
		case classSlash:
			sh.slashes++
		case classDash:
			sh.dashes++
		}
	}
	return sh
}

// isEndpointToken checks one token. key is only consulted (lazily) for the
// shapes that need pod context.
func isEndpointToken(t, key string) bool {
	return isShapedToken(t, key, shapeOf(t))
}

func isShapedToken(t, key string, sh shape) bool {
	// A sentence may end right after an address.
	for len(t) > 0 && t[len(t)-1] == '.' {
		t = t[:len(t)-1]
		sh.dots--
	}
	if len(t) < 3 {
		return false
	}
	if sh.dots >= 3 && hasEmbeddedIPv4(t) {
		return true
	}
	if sh.slashes > 0 {
		if sh.colons > 0 {
			if i := strings.Index(t, "://"); i >= 0 {
				return isURLWithHost(t, i)
			}
		}
		return isNamespacedEndpoint(t, strings.IndexByte(t, '/'), key)
	}
	return isShapedAddress(t, key, sh)
}

// isAddress checks a token without '/' or scheme.
func isAddress(t, key string) bool {
	return isShapedAddress(t, key, shapeOf(t))
}

func isShapedAddress(t, key string, sh shape) bool {
	switch {
	case sh.colons >= 2:
		return isIPv6(t)
	case sh.colons == 1:
		c := strings.IndexByte(t, ':')
		return isPort(t[c+1:]) && isEndpointHost(t[:c], key)
	}
	return (sh.dots == 3 && isIPv4(t)) ||
		(sh.dots > 0 && isClusterDNSName(t)) ||
		(sh.dashes >= 2 && isDeploymentPod(t)) ||
		(sh.dashes >= 1 && isStatefulSetPod(t) && isPodContext(key))
}

// isEndpointHost decides the host part of host:port: the port makes any
// pod-shaped host an endpoint, but a bare word ("status:200") only in pod context.
func isEndpointHost(h, key string) bool {
	switch {
	case h == "localhost", isIPv4(h), isDeploymentPod(h), isStatefulSetPod(h):
		return true
	case strings.IndexByte(h, '.') >= 0:
		return isDNSName(h)
	}
	return isDNSLabel(h) && hasLetter(h) && isPodContext(key)
}

// isNamespacedEndpoint handles tokens with a '/': "namespace/pod", or an
// address followed by a path or prefix length ("10.0.0.7:8000/v1", "10.0.0.0/8").
func isNamespacedEndpoint(t string, slash int, key string) bool {
	head, rest := t[:slash], t[slash+1:]
	if head != "" && isAddress(head, key) {
		return true
	}
	if strings.IndexByte(rest, '/') >= 0 || !isDNSLabel(head) {
		return false
	}
	return isDeploymentPod(rest) || (isStatefulSetPod(rest) && isPodContext(key)) || isAddress(rest, key)
}

func isURLWithHost(t string, sep int) bool {
	scheme := t[:sep]
	if scheme == "" || !isLetter(scheme[0]) {
		return false
	}
	for i := 1; i < len(scheme); i++ {
		c := scheme[i]
		if !isLetter(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	auth := t[sep+3:]
	for i := 0; i < len(auth); i++ {
		if c := auth[i]; c == '/' || c == '?' || c == '#' {
			auth = auth[:i]
			break
		}
	}
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	return auth != "" && auth[0] != ':'
}

// isIPv4 accepts a.b.c.d (octets 0-255), optionally followed by ":port".
func isIPv4(t string) bool {
	if c := strings.IndexByte(t, ':'); c >= 0 {
		if !isPort(t[c+1:]) {
			return false
		}
		t = t[:c]
	}
	octets, n, digits := 0, 0, 0
	for i := 0; i <= len(t); i++ {
		if i == len(t) || t[i] == '.' {
			if digits == 0 || digits > 3 || n > 255 {
				return false
			}
			octets++
			n, digits = 0, 0
			continue
		}
		if !isDigit(t[i]) {
			return false
		}
		n = n*10 + int(t[i]-'0')
		digits++
	}
	return octets == 4
}

// hasEmbeddedIPv4 finds an IPv4 address glued to a word by punctuation
// ("prefix-10.0.0.7", "pod@10.0.0.7:8000"), which tokenising does not split
// off. After a letter or digit it is no address ("v1.2.3.4").
func hasEmbeddedIPv4(t string) bool {
	if strings.Count(t, ".") < 3 {
		return false
	}
	for i := 1; i < len(t); i++ {
		if c := t[i-1]; isDigit(t[i]) && !isLetter(c) && !isDigit(c) && c != '.' {
			if ipv4Prefix(t[i:]) {
				return true
			}
		}
	}
	return false
}

// ipv4Prefix reports whether s starts with a.b.c.d not followed by a digit,
// a letter or another dotted number.
func ipv4Prefix(s string) bool {
	octets, n, digits, i := 0, 0, 0, 0
	for ; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			n = n*10 + int(c-'0')
			digits++
			if digits > 3 || n > 255 {
				return false
			}
			continue
		}
		if digits == 0 {
			return false
		}
		octets++
		n, digits = 0, 0
		if c != '.' || octets == 4 {
			break
		}
	}
	if i == len(s) && digits > 0 {
		octets++
	}
	if octets != 4 {
		return false
	}
	return i == len(s) || !isLetter(s[i]) && s[i] != '.'
}

// isIPv6 pre-checks the characters so that netip (whose failures allocate an
// error) only sees strings that are nearly certainly addresses.
func isIPv6(t string) bool {
	addr := t
	if z := strings.IndexByte(t, '%'); z >= 0 {
		addr = t[:z]
		if z == len(t)-1 {
			return false
		}
	}
	if len(addr) < 2 {
		return false
	}
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if !isHex(c) && c != ':' && c != '.' {
			return false
		}
	}
	if !strings.Contains(addr, "::") && strings.Count(addr, ":") < 7 && !(strings.Count(addr, ":") == 6 && strings.IndexByte(addr, '.') >= 0) {
		return false
	}
	_, err := netip.ParseAddr(t)
	return err == nil
}

func isPort(p string) bool {
	if len(p) == 0 || len(p) > 5 || (p[0] == '0') {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// isClusterDNSName catches Kubernetes in-cluster names: "<svc>.<ns>.svc",
// "<...>.svc.cluster.local", "<pod-ip>.<ns>.pod.cluster.local".
func isClusterDNSName(t string) bool {
	if !isDNSName(t) {
		return false
	}
	return strings.HasSuffix(t, ".cluster.local") || strings.HasSuffix(t, ".svc") || strings.Contains(t, ".svc.")
}

// isDeploymentPod matches "<name>-<hash>-<suffix>".
func isDeploymentPod(t string) bool {
	if len(t) > 253 {
		return false
	}
	j := strings.LastIndexByte(t, '-')
	if j < 0 || len(t)-j-1 != 5 || !allSafe(t[j+1:]) {
		return false
	}
	k := strings.LastIndexByte(t[:j], '-')
	if k < 0 {
		return false
	}
	if h := j - k - 1; h < 6 || h > 10 || !allSafe(t[k+1:j]) {
		return false
	}
	return isK8sName(t[:k])
}

// isStatefulSetPod matches "<name>-<ordinal>", ordinal a decimal without
// leading zeros. On its own it is ambiguous with model names: callers demand
// pod context, or a port next to it.
func isStatefulSetPod(t string) bool {
	j := strings.LastIndexByte(t, '-')
	if j <= 0 || j == len(t)-1 || len(t)-j-1 > 5 {
		return false
	}
	ord := t[j+1:]
	if ord[0] == '0' && len(ord) > 1 {
		return false
	}
	for i := 0; i < len(ord); i++ {
		if !isDigit(ord[i]) {
			return false
		}
	}
	return isK8sName(t[:j]) && isLetter(t[0])
}

// isK8sName accepts the name part of a generated pod name: lowercase DNS
// subdomain characters, starting and ending with an alphanumeric.
func isK8sName(s string) bool {
	if s == "" || len(s) > 253 || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// isDNSLabel is an RFC 1123 label as Kubernetes uses it for namespaces.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// isDNSName accepts dotted host names with at least one letter (so that
// version numbers and IPv4 fragments are not host names).
func isDNSName(s string) bool {
	if len(s) > 253 || !hasLetter(s) {
		return false
	}
	label := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if label == 0 || label > 63 || s[i-1] == '-' || s[i-label] == '-' {
				return false
			}
			label = 0
			continue
		}
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '-' {
			return false
		}
		label++
	}
	return true
}

// isPodContext reports whether key says its value holds pods or endpoints.
func isPodContext(key string) bool {
	for _, h := range podHints {
		if containsFold(key, h) {
			return true
		}
	}
	return false
}

// containsFold is strings.Contains with ASCII case folding of s; needle is
// lowercase. strings.EqualFold on substrings would do, but this stays simple
// and allocation-free.
func containsFold(s, needle string) bool {
	for i := 0; i+len(needle) <= len(s); i++ {
		j := 0
		for ; j < len(needle); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				break
			}
		}
		if j == len(needle) {
			return true
		}
	}
	return false
}

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
// the score family without being a schema key, or one of its dot-separated
// segments (or a run of them, for IPv4) names an endpoint.
func isEndpointKey(key string) bool {
	if strings.HasPrefix(key, scoreFamily) && schema.KeyType(schema.Scorer, key) == schema.TypeNone {
		return true
	}
	for _, k := range schemaKeys {
		if len(key) > len(k) && key[len(k)] == '.' && key[:len(k)] == k {
			return true
		}
	}
	numeric := 0
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '.' {
			continue
		}
		seg := key[start:i]
		start = i + 1
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
		if len(seg) >= 3 && isSegmentEndpoint(seg) {
			return true
		}
	}
	return false
}

// isSegmentEndpoint checks one key segment: the shapes that cannot be a
// word of a key name (no pod context: key segments like "gpu-0" are common).
func isSegmentEndpoint(seg string) bool {
	if strings.IndexByte(seg, ':') >= 0 || strings.IndexByte(seg, '/') >= 0 {
		return isEndpointToken(seg, "")
	}
	return isDeploymentPod(seg)
}

func isOctet(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 255
}

func allSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !safeChar[s[i]] {
			return false
		}
	}
	return true
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if isLetter(s[i]) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLetter(c byte) bool     { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isLowerAlnum(c byte) bool { return ('a' <= c && c <= 'z') || isDigit(c) }
func isHex(c byte) bool        { return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') }
