// Package upstreamfixture reads the traces upstream's own EPP code emitted
// (the repository's testdata/upstream-epp, OTLP JSON lines, gzipped) and
// reduces traces, upstream's or ours, to their shape: for each span name,
// its kinds, its parents' names and its attribute keys with their value
// types. Tests compare the two shapes. It is for tests only.
package upstreamfixture

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// Files of testdata/upstream-epp.
const (
	// Single is the single-profile run ("default").
	Single = "epp-61d66c47.jsonl.gz"
	// Disagg is the prefill/decode run.
	Disagg = "epp-61d66c47-disagg.jsonl.gz"
)

// SpanShape is what the spans of one name look like.
type SpanShape struct {
	Count   int
	Kinds   map[string]bool
	Parents map[string]bool // parent span names; "" for a root
	Keys    map[string]schema.Type
}

// Shape is the shape of a set of traces, by span name. Scorer spans
// (schema.ScorerSpanPrefix + type) are folded under schema.ScorerSpanPrefix,
// as their keys do not depend on the type.
type Shape map[string]*SpanShape

// Name folds a span name as Shape keys it.
func Name(span string) string {
	if schema.Classify(span) == schema.Scorer {
		return schema.ScorerSpanPrefix
	}
	return span
}

func (s Shape) span(name string) *SpanShape {
	name = Name(name)
	sh := s[name]
	if sh == nil {
		sh = &SpanShape{Kinds: map[string]bool{}, Parents: map[string]bool{}, Keys: map[string]schema.Type{}}
		s[name] = sh
	}
	return sh
}

func (sh *SpanShape) key(k string, t schema.Type) error {
	if have, ok := sh.Keys[k]; ok && have != t {
		return fmt.Errorf("key %s seen as %v and as %v", k, have, t)
	}
	sh.Keys[k] = t
	return nil
}

// Dir finds testdata/upstream-epp in the working directory or above it (a
// test runs in its package's directory, inside the repository).
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		d := filepath.Join(dir, "testdata", "upstream-epp")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testdata/upstream-epp not found above the working directory")
		}
		dir = parent
	}
}

// Load reads one fixture file with pdata's OTLP JSON unmarshaler and
// returns its shape.
func Load(file string) (Shape, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	var all []ptrace.Traces
	var u ptrace.JSONUnmarshaler
	for line := 1; sc.Scan(); line++ {
		td, err := u.UnmarshalTraces(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", file, line, err)
		}
		all = append(all, td)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return FromTraces(all...)
}

// FromTraces returns the shape of OTLP traces. Parents are resolved across
// all of them (a trace may straddle two export requests).
func FromTraces(all ...ptrace.Traces) (Shape, error) {
	names := map[pcommon.SpanID]string{}
	var spans []ptrace.Span
	for _, td := range all {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					names[sp.SpanID()] = sp.Name()
					spans = append(spans, sp)
				}
			}
		}
	}
	shape := Shape{}
	for _, sp := range spans {
		sh := shape.span(sp.Name())
		sh.Count++
		sh.Kinds[strings.TrimPrefix(sp.Kind().String(), "SPAN_KIND_")] = true
		sh.Parents[Name(names[sp.ParentSpanID()])] = true
		for k, v := range sp.Attributes().All() {
			if err := sh.key(k, pdataType(v)); err != nil {
				return nil, fmt.Errorf("%s: %w", sp.Name(), err)
			}
		}
	}
	return shape, nil
}

// FromSpans returns the shape of spans recorded by the OTel SDK.
func FromSpans(spans []sdktrace.ReadOnlySpan) (Shape, error) {
	names := map[[8]byte]string{}
	for _, sp := range spans {
		names[sp.SpanContext().SpanID()] = sp.Name()
	}
	shape := Shape{}
	for _, sp := range spans {
		sh := shape.span(sp.Name())
		sh.Count++
		kind := sp.SpanKind().String()
		sh.Kinds[strings.ToUpper(kind[:1])+kind[1:]] = true
		parent := ""
		if sp.Parent().IsValid() {
			parent = names[sp.Parent().SpanID()]
		}
		sh.Parents[Name(parent)] = true
		for _, kv := range sp.Attributes() {
			if err := sh.key(string(kv.Key), sdkType(kv.Value)); err != nil {
				return nil, fmt.Errorf("%s: %w", sp.Name(), err)
			}
		}
	}
	return shape, nil
}

func pdataType(v pcommon.Value) schema.Type {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return schema.TypeString
	case pcommon.ValueTypeInt:
		return schema.TypeInt
	case pcommon.ValueTypeDouble:
		return schema.TypeFloat
	case pcommon.ValueTypeBool:
		return schema.TypeBool
	case pcommon.ValueTypeSlice:
		if s := v.Slice(); s.Len() > 0 {
			switch s.At(0).Type() {
			case pcommon.ValueTypeStr:
				return schema.TypeStringSlice
			case pcommon.ValueTypeDouble:
				return schema.TypeFloatSlice
			}
		}
	}
	return schema.TypeNone
}

func sdkType(v attribute.Value) schema.Type {
	switch v.Type() {
	case attribute.STRING:
		return schema.TypeString
	case attribute.INT64:
		return schema.TypeInt
	case attribute.FLOAT64:
		return schema.TypeFloat
	case attribute.BOOL:
		return schema.TypeBool
	case attribute.STRINGSLICE:
		return schema.TypeStringSlice
	case attribute.FLOAT64SLICE:
		return schema.TypeFloatSlice
	}
	return schema.TypeNone
}

// Compare checks ours against upstream's for every span name both have
// (and that upstream's scheduler makes: schema.UpstreamAttributes knows
// it): the same kinds; the same parents where upstream's parent is itself
// such a span (not a harness's wrapper); no key upstream's spans lack;
// every key they carry except those this module omits on purpose
// (schema.OmittedUpstreamKey); the same value type for each key. It returns
// one line per difference, and the names compared.
func Compare(upstream, ours Shape) (diffs, compared []string) {
	for _, name := range sortedKeys(ours) {
		up, ok := upstream[name]
		if !ok || schema.UpstreamAttributes(name) == nil {
			continue
		}
		compared = append(compared, name)
		o := ours[name]
		if k, u := sortedKeys(o.Kinds), sortedKeys(up.Kinds); !slices.Equal(k, u) {
			diffs = append(diffs, fmt.Sprintf("%s: kinds %v, upstream's %v", name, k, u))
		}
		for _, p := range sortedKeys(up.Parents) {
			if schema.UpstreamAttributes(p) != nil && !o.Parents[p] {
				diffs = append(diffs, fmt.Sprintf("%s: not under %s as upstream's", name, p))
			}
		}
		for _, p := range sortedKeys(o.Parents) {
			if schema.UpstreamAttributes(p) != nil && !up.Parents[p] {
				diffs = append(diffs, fmt.Sprintf("%s: under %s, upstream's never", name, p))
			}
		}
		for _, k := range sortedKeys(o.Keys) {
			ut, ok := up.Keys[k]
			switch {
			case !ok && schema.Extension(kindOf(name), k) == o.Keys[k]:
				// our documented extension (schema.Extension): upstream's
				// spans never carry it.
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s: key %s, which upstream's lacks", name, k))
			case ut != o.Keys[k]:
				diffs = append(diffs, fmt.Sprintf("%s: key %s is %v, upstream's %v", name, k, o.Keys[k], ut))
			}
		}
		for _, k := range sortedKeys(up.Keys) {
			if _, ok := o.Keys[k]; !ok && !schema.OmittedUpstreamKey(name, k) {
				diffs = append(diffs, fmt.Sprintf("%s: lacks upstream's key %s", name, k))
			}
		}
	}
	return diffs, compared
}

// kindOf is the schema span kind of a shape's span name (scorer spans
// are all under schema.ScorerSpanPrefix).
func kindOf(name string) schema.SpanKind {
	if name == schema.ScorerSpanPrefix {
		return schema.Scorer
	}
	return schema.Classify(name)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
