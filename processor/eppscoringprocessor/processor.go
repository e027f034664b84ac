package eppscoringprocessor

import (
	"context"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/scorelens/scorelens/processor/eppscoringprocessor/internal/metadata"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// reason is why an attribute breaks the rule.
type reason uint8

const (
	reasonNone reason = iota
	reasonUnknownKey
	reasonWrongType
	reasonEndpointKey
	reasonEndpointValue
	numReasons
)

var reasonNames = [numReasons]string{"", "unknown_key", "wrong_type", "endpoint_key", "endpoint_value"}

// renameReason is why a scorer span name breaks the rule.
type renameReason uint8

const (
	renameEndpointType renameReason = iota
	renameTypeLimit
	numRenameReasons
)

var renameReasonNames = [numRenameReasons]string{"endpoint_type", "type_limit"}

// maxValueDepth bounds the recursion into slices and maps. Anything nested
// deeper is treated as naming an endpoint: it cannot be vetted at bounded
// cost, and the rule fails closed.
const maxValueDepth = 8

// tally accumulates one batch's counts, so that the instruments are called
// once per batch and not per span.
type tally struct {
	checked int64
	attrs   [numReasons]int64
	renames [numRenameReasons]int64
}

func (t *tally) findings() int64 {
	var n int64
	for _, c := range t.attrs {
		n += c
	}
	for _, c := range t.renames {
		n += c
	}
	return n
}

type eppProcessor struct {
	logger    *zap.Logger
	strip     bool
	summary   bool
	names     []string
	prefixes  []string
	scopes    []string
	scopePres []string
	allowed   map[string]struct{}
	types     *scorerTypes
	telemetry *metadata.TelemetryBuilder
	// Attribute options built once: an attribute.Set per Add would allocate.
	attrOpts   [numReasons][]metric.AddOption
	renameOpts [numRenameReasons][]metric.AddOption
}

func newProcessor(set processor.Settings, cfg *Config) (*eppProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &eppProcessor{
		logger:    set.Logger,
		strip:     cfg.Mode != ModeReport,
		summary:   cfg.Summary,
		names:     append([]string(nil), cfg.SpanNames...),
		prefixes:  append([]string(nil), cfg.SpanNamePrefixes...),
		scopes:    append([]string(nil), cfg.ScopeNames...),
		scopePres: append([]string(nil), cfg.ScopeNamePrefixes...),
		types:     newScorerTypes(cfg.MaxScorerTypes),
		telemetry: tb,
	}
	if len(cfg.AllowedKeys) > 0 {
		p.allowed = make(map[string]struct{}, len(cfg.AllowedKeys))
		for _, k := range cfg.AllowedKeys {
			p.allowed[k] = struct{}{}
		}
	}
	for r := reasonNone + 1; r < numReasons; r++ {
		p.attrOpts[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reasonNames[r])))}
	}
	for r := range numRenameReasons {
		p.renameOpts[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", renameReasonNames[r])))}
	}
	return p, nil
}

func (p *eppProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var t tally
	p.apply(td, &t)
	p.record(ctx, &t)
	return td, nil
}

// apply runs the rule over a batch, counting into t. The instrumentation
// scope is classified once per ScopeSpans, not per span.
func (p *eppProcessor) apply(td ptrace.Traces, t *tally) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			whole := p.scopeInScope(ss.Scope().Name())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				p.processSpan(spans.At(k), whole, t)
			}
		}
	}
}

// scopeInScope reports whether every span of an instrumentation scope is in
// scope of the rule (scope_names, scope_name_prefixes).
func (p *eppProcessor) scopeInScope(scope string) bool {
	if scope == "" {
		return false
	}
	for _, n := range p.scopes {
		if scope == n {
			return true
		}
	}
	for _, pre := range p.scopePres {
		if strings.HasPrefix(scope, pre) {
			return true
		}
	}
	return false
}

// inScope is the check every non-schema span of an out-of-scope
// instrumentation scope pays: a few string compares.
func (p *eppProcessor) inScope(name string) bool {
	for _, n := range p.names {
		if name == n {
			return true
		}
	}
	for _, pre := range p.prefixes {
		if strings.HasPrefix(name, pre) {
			return true
		}
	}
	return false
}

// processSpan applies the rule to one span; wholeScope says that the span's
// instrumentation scope puts all its spans in scope.
func (p *eppProcessor) processSpan(span ptrace.Span, wholeScope bool, t *tally) {
	name := span.Name()
	kind := schema.Classify(name)
	if kind == schema.NotSchema && !wholeScope && !p.inScope(name) {
		return
	}
	t.checked++
	if kind == schema.Scorer {
		p.checkScorerName(span, name, t)
	}
	removed := p.checkMap(kind, span.Attributes(), t)
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		removed += p.checkMap(schema.NotSchema, events.At(i).Attributes(), t)
	}
	links := span.Links()
	for i := 0; i < links.Len(); i++ {
		removed += p.checkMap(schema.NotSchema, links.At(i).Attributes(), t)
	}
	if removed > 0 && p.strip && p.summary {
		attrs := span.Attributes()
		if v, ok := attrs.Get(schema.AttrRedactedCount); ok && v.Type() == pcommon.ValueTypeInt {
			v.SetInt(v.Int() + removed)
		} else {
			attrs.PutInt(schema.AttrRedactedCount, removed)
		}
	}
}

// checkScorerName applies the span-name rule. The type attribute is left to
// the value rule.
func (p *eppProcessor) checkScorerName(span ptrace.Span, name string, t *tally) {
	if name == schema.ScorerSpanOverflow {
		return
	}
	typ := name[len(schema.ScorerSpanPrefix):]
	var r renameReason
	switch {
	case isEndpointValue("", typ):
		r = renameEndpointType
	case !p.types.admit(typ):
		r = renameTypeLimit
	default:
		return
	}
	t.renames[r]++
	if p.strip {
		span.SetName(schema.ScorerSpanOverflow)
	}
}

// checkMap applies the rule to one attribute map and returns how many
// attributes it removed (always 0 in report mode).
func (p *eppProcessor) checkMap(kind schema.SpanKind, m pcommon.Map, t *tally) int64 {
	if m.Len() == 0 {
		return 0
	}
	var removed int64
	if p.strip {
		m.RemoveIf(func(k string, v pcommon.Value) bool {
			r := p.judge(kind, k, v)
			if r == reasonNone {
				return false
			}
			t.attrs[r]++
			removed++
			return true
		})
		return removed
	}
	m.Range(func(k string, v pcommon.Value) bool {
		if r := p.judge(kind, k, v); r != reasonNone {
			t.attrs[r]++
		}
		return true
	})
	return 0
}

// judge decides one attribute. On schema spans the allowlist comes first,
// then, for every in-scope span, the key and the value rules.
func (p *eppProcessor) judge(kind schema.SpanKind, k string, v pcommon.Value) reason {
	if kind != schema.NotSchema {
		switch want := schema.KeyType(kind, k); {
		case want != schema.TypeNone:
			if !typeMatches(want, v.Type()) {
				return reasonWrongType
			}
			// No schema key says its value holds pods (a test holds them to
			// it): judging without pod context gives the same answer and
			// spares reading the key for hints on every model name.
			k = ""
		case k == schema.AttrRedactedCount:
			if v.Type() != pcommon.ValueTypeInt {
				return reasonWrongType
			}
			return reasonNone
		case p.isAllowed(k):
		case isEndpointKey(k):
			return reasonEndpointKey
		default:
			return reasonUnknownKey
		}
	} else if isEndpointKey(k) {
		return reasonEndpointKey
	}
	if valueNamesEndpoint(k, v, 0) {
		return reasonEndpointValue
	}
	return reasonNone
}

func (p *eppProcessor) isAllowed(k string) bool {
	if p.allowed == nil {
		return false
	}
	_, ok := p.allowed[k]
	return ok
}

func typeMatches(want schema.Type, got pcommon.ValueType) bool {
	switch want {
	case schema.TypeString:
		return got == pcommon.ValueTypeStr
	case schema.TypeInt:
		return got == pcommon.ValueTypeInt
	case schema.TypeFloat:
		return got == pcommon.ValueTypeDouble
	case schema.TypeBool:
		return got == pcommon.ValueTypeBool
	}
	return false
}

// valueNamesEndpoint applies the value rule: strings are tokenised, slices
// are checked element by element, maps by key and value. Numbers, booleans
// and bytes never name an endpoint (so an int under a key that says
// "endpoint" is a count, not an identity).
func valueNamesEndpoint(k string, v pcommon.Value, depth int) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return isEndpointValue(k, v.Str())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		if s.Len() == 0 {
			return false
		}
		if depth >= maxValueDepth {
			return true
		}
		for i := 0; i < s.Len(); i++ {
			if valueNamesEndpoint(k, s.At(i), depth+1) {
				return true
			}
		}
	case pcommon.ValueTypeMap:
		m := v.Map()
		if m.Len() == 0 {
			return false
		}
		if depth >= maxValueDepth {
			return true
		}
		found := false
		m.Range(func(mk string, mv pcommon.Value) bool {
			found = isEndpointKey(mk) || valueNamesEndpoint(mk, mv, depth+1)
			return !found
		})
		return found
	}
	return false
}

// record adds the batch's counts to the instruments, once per batch.
func (p *eppProcessor) record(ctx context.Context, t *tally) {
	if t.checked == 0 {
		return
	}
	tb := p.telemetry
	tb.ProcessorEppscoringSpansChecked.Add(ctx, t.checked)
	attrs, renames := tb.ProcessorEppscoringAttributesRemoved, tb.ProcessorEppscoringSpansRenamed
	if !p.strip {
		attrs, renames = tb.ProcessorEppscoringAttributesReported, tb.ProcessorEppscoringSpansReported
	}
	for r := reasonNone + 1; r < numReasons; r++ {
		if n := t.attrs[r]; n > 0 {
			attrs.Add(ctx, n, p.attrOpts[r]...)
		}
	}
	for r := range numRenameReasons {
		if n := t.renames[r]; n > 0 {
			renames.Add(ctx, n, p.renameOpts[r]...)
		}
	}
	if n := t.findings(); n > 0 && p.logger.Core().Enabled(zap.DebugLevel) {
		p.logger.Debug("eppscoring found attributes or span names that name endpoints",
			zap.Bool("stripped", p.strip), zap.Int64("spans_checked", t.checked), zap.Int64("findings", n))
	}
}
