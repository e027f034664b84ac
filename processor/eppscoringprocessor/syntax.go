package eppscoringprocessor

import (
	"net/netip"
	"strings"
)

// The syntax the detector is built from: addresses, DNS names and
// Kubernetes' generated pod names, each checked over bytes without
// allocating.

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

// isIPv4 accepts exactly a.b.c.d, octets 0-255.
func isIPv4(t string) bool {
	return t != "" && ipv4Len(t) == len(t)
}

// ipv4Len returns the length of the a.b.c.d that s starts with, or 0.
func ipv4Len(s string) int {
	i := 0
	for octet := range 4 {
		if octet > 0 {
			if i == len(s) || s[i] != '.' {
				return 0
			}
			i++
		}
		// One digit more than an octet has, so that "1.2.3.4567" is no address.
		j := i
		for j < len(s) && j-i < 4 && isDigit(s[j]) {
			j++
		}
		if !isOctet(s[i:j]) {
			return 0
		}
		i = j
	}
	return i
}

// hasIPv4 finds an IPv4 address at the start of t or glued to a word by
// punctuation ("10.0.0.7:0", "prefix-10.0.0.7", "pod@10.0.0.7:8000"),
// whatever follows it but a letter or another dotted number. After a letter,
// digit or dot it is no address ("v1.2.3.4", "1.2.3.4.5").
func hasIPv4(t string) bool {
	if strings.Count(t, ".") < 3 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) {
			continue
		}
		if i > 0 {
			if c := t[i-1]; isLetter(c) || isDigit(c) || c == '.' {
				continue
			}
		}
		if ipv4At(t, i) {
			return true
		}
	}
	return false
}

// ipv4At reports whether an IPv4 address starts at t[i] and is followed by
// neither a letter nor another dotted number.
func ipv4At(t string, i int) bool {
	n := ipv4Len(t[i:])
	return n > 0 && (i+n == len(t) || !isLetter(t[i+n]) && t[i+n] != '.')
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

// isPort accepts 1-65535 without leading zeros.
func isPort(p string) bool {
	n, ok := decimal(p, 5)
	return ok && p[0] != '0' && n <= 65535
}

func isOctet(s string) bool {
	n, ok := decimal(s, 3)
	return ok && n <= 255
}

// decimal parses 1 to maxDigits decimal digits.
func decimal(s string, maxDigits int) (int, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
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
	if j <= 0 {
		return false
	}
	ord := t[j+1:]
	if _, ok := decimal(ord, 5); !ok || ord[0] == '0' && len(ord) > 1 {
		return false
	}
	return isK8sName(t[:j]) && isLetter(t[0])
}

// isPodName decides a token without '/' or ':' in pod context: a
// Kubernetes object name with a '-' or '.' (a single word, such as
// "endpoints" in "8/8 endpoints", is no syntax of a pod), starting with a
// letter, that is neither a UUID nor a version ("v1.2.3", "v0.3.0-rc1"):
// those are request ids and releases, not pods. Numbers as strings ("8",
// "8000") start with a digit. sh is t's shape, which has counted its
// dashes and dots already.
func isPodName(t string, sh shape) bool {
	return sh.dashes+sh.dots > 0 && isLetter(t[0]) && isK8sName(t) && !isUUID(t) && !isVersion(t)
}

// isUUID accepts the 8-4-4-4-12 hex form.
func isUUID(t string) bool {
	if len(t) != 36 {
		return false
	}
	for i := 0; i < len(t); i++ {
		switch i {
		case 8, 13, 18, 23:
			if t[i] != '-' {
				return false
			}
		default:
			if !isHex(t[i]) {
				return false
			}
		}
	}
	return true
}

// isVersion accepts "v" + a dotted number with at least one dot, then
// optionally a pre-release or build suffix after '-' or '+'.
func isVersion(t string) bool {
	if len(t) < 4 || t[0] != 'v' || !isDigit(t[1]) {
		return false
	}
	dots := 0
	for i := 2; i < len(t); i++ {
		switch c := t[i]; {
		case c == '.':
			if t[i-1] == '.' {
				return false
			}
			dots++
		case isDigit(c):
		case c == '-' || c == '+':
			return dots > 0 && t[i-1] != '.'
		default:
			return false
		}
	}
	return dots > 0 && t[len(t)-1] != '.'
}

// isK8sName accepts a Kubernetes object name (a DNS subdomain): lowercase
// alphanumerics, '-' and '.', starting and ending with an alphanumeric.
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
	return len(s) <= 63 && isK8sName(s) && strings.IndexByte(s, '.') < 0
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

func allSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !safeChar[s[i]] {
			return false
		}
	}
	return true
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
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

func isSchemeChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '+' || c == '-' || c == '.'
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLetter(c byte) bool     { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isLowerAlnum(c byte) bool { return ('a' <= c && c <= 'z') || isDigit(c) }
func isHex(c byte) bool        { return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') }
