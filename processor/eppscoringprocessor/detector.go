package eppscoringprocessor

import (
	"strings"
)

// The detector decides whether an attribute value or key names an endpoint.
// It runs in the per-span loop, so it is hand-written over bytes: no regular
// expression, no allocation (netip.ParseAddr runs only on strings that are
// already made of IPv6 characters).
//
// A value is split into tokens at whitespace and punctuation that never
// occurs inside an address (so "picked 10.0.0.7:8000, ..." is caught); a
// token names an endpoint when it is
//   - a URL with a host ("scheme://host..."), or a URL without one whose
//     path holds an address ("dns:///vllm.llm-d.svc:8000"),
//   - an IPv4 address, whatever follows or precedes it ("10.0.0.7:8000",
//     "10.0.0.0/8", "prefix-10.0.0.7"), unless it continues a dotted
//     number or a word ("1.2.3.4.5", "v1.2.3.4"),
//   - an IPv6 address (with zone; brackets split it off its port),
//   - host:port where host is an IPv4 address, "localhost", a dotted DNS name,
//     a pod name, or (pod context only) any DNS label,
//   - an in-cluster DNS name (".svc", ".cluster.local"),
//   - a Deployment pod name "<name>-<hash>-<suffix>" (hash 6-10 and suffix 5
//     characters of Kubernetes' safe alphabet),
//   - a StatefulSet pod name "<name>-<ordinal>", in pod context only,
//   - any Kubernetes object name with a '-' or '.' in it ("decode-worker-a",
//     a generated name outside the safe alphabet), in pod context only (see
//     isPodName for what never is one),
//   - a path ("a/b/c") one of whose segments is one of the above, plain
//     Kubernetes names excepted (so that, even in pod context,
//     "meta-llama/Llama-3.1-8B" is no endpoint because of "meta-llama"),
//   - "namespace/name" with any Kubernetes name, and "/name" (upstream's id
//     of an endpoint whose namespace is unset), in pod context only,
//   - one of the above glued to a word by ':', '_', '@' or the like
//     ("pod:vllm-7d9f8b6c5d-x2k4p", "endpoint:fd00::7").
//
// Pod context means the attribute key says it holds pods or endpoints (see
// podHints). The StatefulSet and namespace/name shapes need it because they
// are the shapes of model names too: "llama-3", "gemma-2" and
// "meta-llama/llama-3.1-8b-instruct" are syntactically a StatefulSet pod and
// namespaced pods. Under "gen_ai.request.model" they pass; under
// "llm_d.epp.picker.top_endpoints" (upstream's endpoint ids, "namespace/pod")
// they go.

// podHints are key fragments that make a key a pod context. Matched ASCII
// case-insensitively anywhere in the key.
var podHints = [...]string{"endpoint", "pod", "host", "addr", "replica", "instance", "backend", "peer", "server"}

// isEndpointValue reports whether a string value under key names an endpoint.
// One pass splits the tokens and counts their punctuation (see shape).
func isEndpointValue(key, s string) bool {
	var sh shape
	glued := false
	start := -1
	for i := 0; i < len(s); i++ {
		// One switch per byte, not shape.add: this loop reads every byte
		// of every value in scope, and the extra branches cost about 10%
		// of a clean batch (measured against this one).
		switch byteClass[s[i]] {
		case classOther:
		case classSeparator:
			if start >= 0 {
				if isShapedToken(s[start:i], key, sh, glued) {
					return true
				}
				start, sh, glued = -1, shape{}, false
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
		case classGlue:
			glued = true
		}
		if start < 0 {
			start = i
		}
	}
	return start >= 0 && isShapedToken(s[start:], key, sh, glued)
}

// Byte classes of the tokeniser. Separators are whitespace and punctuation
// that never occurs inside an address. Glue is punctuation that never occurs
// inside an address either but, unlike a separator, often joins a label to
// one ("pod:name", "name@ns"): a token is split at it only when the whole
// token is no endpoint.
const (
	classOther uint8 = iota
	classSeparator
	classDot
	classColon
	classSlash
	classDash
	classGlue
)

var byteClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\v\f,;\"'`()[]{}<>=|\\") {
		t[c] = classSeparator
	}
	for _, c := range []byte("_@#?&+!$*~^%") {
		t[c] = classGlue
	}
	t['.'], t[':'], t['/'], t['-'] = classDot, classColon, classSlash, classDash
	return t
}()

// shape counts the punctuation that decides which checks can match, so
// that a plain word costs one pass. Glue is tracked beside it, not in it: a
// struct of at most four fields stays in registers in the per-byte loop.
type shape struct{ dots, colons, slashes, dashes int32 }

func (sh *shape) add(class uint8) {
	switch class {
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

// shapeOf counts a token's shape and whether it holds glue.
func shapeOf(t string) (sh shape, glued bool) {
	for i := 0; i < len(t); i++ {
		class := byteClass[t[i]]
		sh.add(class)
		if class == classGlue {
			glued = true
		}
	}
	return sh, glued
}

// isEndpointToken checks one token. key is only consulted (lazily) for the
// shapes that need pod context.
func isEndpointToken(t, key string) bool {
	sh, glued := shapeOf(t)
	return isShapedToken(t, key, sh, glued)
}

func isShapedToken(t, key string, sh shape, glued bool) bool {
	// Every endpoint shape has punctuation: a plain word is none.
	if sh == (shape{}) && !glued {
		return false
	}
	// A sentence may end right after an address.
	for len(t) > 0 && t[len(t)-1] == '.' {
		t = t[:len(t)-1]
		sh.dots--
	}
	if len(t) < 3 {
		return false
	}
	if sh.dots >= 3 && hasIPv4(t) {
		return true
	}
	if sh.slashes > 0 && sh.colons > 0 {
		if i := strings.Index(t, "://"); i >= 0 {
			return isURLEndpoint(t, i, key)
		}
	}
	if sh.slashes > 0 {
		if isPathEndpoint(t, key) {
			return true
		}
	} else if isShapedAddress(t, key, sh) {
		return true
	} else if sh.colons == 0 && key != "" && isPodName(t, sh) && isPodContext(key) {
		// Under a key that says it holds endpoints, any Kubernetes name is
		// one, whatever made it ("decode-worker-a").
		return true
	}
	if sh.colons > 0 || glued {
		return hasGluedEndpoint(t, key, int(sh.colons))
	}
	return false
}

// isAddress checks a token without '/' or scheme.
func isAddress(t, key string) bool {
	sh, _ := shapeOf(t)
	return isShapedAddress(t, key, sh)
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

// isPathEndpoint handles tokens with a '/': an address followed by a path or
// prefix length ("10.0.0.7:8000/v1", "10.0.0.0/8"), a pod or address as any
// segment ("default/vllm-7d9f8b6c5d-x2k4p", "/api/v1/namespaces/x/pods/<pod>"),
// and, in pod context, "namespace/name" with any Kubernetes name (upstream's
// endpoint ids), the namespace possibly empty ("/pod3": upstream's id when
// the namespace is unset). Out of pod context a plain "org/model" passes.
// Both parts need a letter, so that "3/8" (a fraction under a key like
// "endpoints_ready") is no namespaced name.
func isPathEndpoint(t, key string) bool {
	if slash := strings.IndexByte(t, '/'); slash >= 0 && slash == strings.LastIndexByte(t, '/') {
		ns, name := t[:slash], t[slash+1:]
		if isK8sName(name) && hasLetter(name) && (ns == "" || isDNSLabel(ns) && hasLetter(ns)) && isPodContext(key) {
			return true
		}
	}
	for t != "" {
		seg := t
		if i := strings.IndexByte(t, '/'); i >= 0 {
			seg, t = t[:i], t[i+1:]
		} else {
			t = ""
		}
		if len(seg) >= 3 && isAddress(seg, key) {
			return true
		}
	}
	return false
}

// isURLEndpoint decides a token with "://" at sep. A host makes it an
// endpoint ("http://10.0.0.7:8000/v1", "https://user@vllm-0.vllm/metrics");
// without one ("file:///models/llama", gRPC's "dns:///vllm.llm-d.svc:8000")
// the path decides. The scheme is the run of scheme characters before sep,
// so a URL glued to a word ("url:http://...") is still one.
func isURLEndpoint(t string, sep int, key string) bool {
	start := sep
	for start > 0 && isSchemeChar(t[start-1]) {
		start--
	}
	for start < sep && !isLetter(t[start]) {
		start++
	}
	if start == sep {
		return false
	}
	rest := t[sep+3:]
	auth := rest
	for i := 0; i < len(auth); i++ {
		if c := auth[i]; c == '/' || c == '?' || c == '#' {
			auth = auth[:i]
			break
		}
	}
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	if auth != "" && auth[0] != ':' {
		return true
	}
	return isPathEndpoint(strings.TrimLeft(rest, "/"), key)
}

// hasGluedEndpoint splits a token at colons and glue and checks the parts
// ("pod:vllm-7d9f8b6c5d-x2k4p", "best@default/vllm-0"). An IPv6 address
// after a word and a colon ("endpoint:fd00::7") is tried whole; after a hex
// group it would only be a longer run of groups ("1:2:3:4:5:6:7:8:9"). The parts
// hold no colon or glue, so the recursion is one level deep.
func hasGluedEndpoint(t, key string, colons int) bool {
	if colons >= 2 {
		if c := strings.IndexByte(t, ':'); c > 0 && !allHex(t[:c]) && isIPv6(t[c+1:]) {
			return true
		}
	}
	start := 0
	for i := 0; i <= len(t); i++ {
		if i < len(t) && byteClass[t[i]] != classColon && byteClass[t[i]] != classGlue {
			continue
		}
		if i-start >= 3 && isEndpointToken(t[start:i], key) {
			return true
		}
		start = i + 1
	}
	return false
}

// podHintsByFirst indexes podHints by their first byte, so that
// isPodContext reads the key once instead of once per hint: it runs for
// every model name ("org/model" is namespace/name-shaped).
var podHintsByFirst = func() (t [256][]string) {
	for _, h := range podHints {
		t[h[0]] = append(t[h[0]], h)
	}
	return t
}()

// isPodContext reports whether key says its value holds pods or endpoints:
// it contains a podHint, ASCII case-insensitively.
func isPodContext(key string) bool {
	for i := 0; i < len(key); i++ {
		for _, h := range podHintsByFirst[toLower(key[i])] {
			if hasPrefixFold(key[i:], h) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold is strings.HasPrefix with ASCII case folding of s; prefix
// is lowercase.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for j := 0; j < len(prefix); j++ {
		if toLower(s[j]) != prefix[j] {
			return false
		}
	}
	return true
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
