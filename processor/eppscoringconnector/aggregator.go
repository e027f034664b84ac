package eppscoringconnector

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// Families of series, for the connector's own telemetry.
const (
	familyScoring = iota
	familyScorer
	nFamilies
)

// Reasons a schema span feeds no metric.
const (
	skipMissingAttribute = iota
	skipWrongType
	skipInvalidDuration
	nSkipReasons
)

// Reasons one attribute value of an aggregated span is ignored.
const (
	valueWrongType = iota
	valueNotFinite
	valueOutOfRange
	nValueReasons
)

// Reasons a scorer observation is emitted without its parent's model.
const (
	unmatchedTimeout = iota
	unmatchedEvicted
	unmatchedNoParent
	unmatchedShutdown
	nUnmatchedReasons
)

// stats are the own-telemetry counts of one batch or flush. Counting into a
// plain struct keeps instrument calls off the per-span loop: the connector
// adds them to its instruments once per batch and per flush.
type stats struct {
	observed  [nFamilies]int64
	skipped   [nSkipReasons]int64
	values    [nValueReasons]int64
	matched   int64
	unmatched [nUnmatchedReasons]int64
	overflow  [nFamilies]int64
}

// aggregator is the connector's whole state; the connector's mutex guards
// it, taken once per batch and once per flush.
type aggregator struct {
	temporality pmetric.AggregationTemporality
	bounds      []float64 // explicit duration bounds, seconds
	expoMax     int       // exponential max_size, 0 for explicit histograms
	exemplarMax int       // 0 when exemplars are disabled
	limit       int
	keyAttrs    []string
	metricsExp  int64 // ns, 0 = never
	seriesExp   int64 // ns, 0 = never

	resources   map[uint64]*resourceEntry
	resOrder    []*resourceEntry // creation order, for a stable output
	overflowRes *resourceEntry
	scorers     map[scorerKey]*scorerSeries
	chains      map[chainKey]*chainSeries
	nScorers    int // series below the limit, overflow excluded
	nChains     int
	strs        map[string]string
	scorerCache [seriesCacheSize]scorerCacheSlot
	chainCache  [seriesCacheSize]chainCacheSlot

	// Per batch, reused: parents seen in the batch and scorer observations
	// that wait for the end of the batch to find them.
	batchParents map[uint64]parentRef
	deferred     []childObs

	join  joinStore
	stats stats
}

// parentRef is what a scoring span passes to its children: the model.
type parentRef struct {
	trace pcommon.TraceID
	model string
}

// childObs is one scorer span, parsed, waiting for a model.
type childObs struct {
	res       *resourceEntry
	typ, name string
	duration  float64
	scoreMax  float64
	scoreAvg  float64
	hasMax    bool
	hasAvg    bool
	isError   bool
	trace     pcommon.TraceID
	span      pcommon.SpanID
	end       pcommon.Timestamp
	parent    uint64
}

func newAggregator(cfg *Config) *aggregator {
	temporality, _ := parseTemporality(cfg.AggregationTemporality)
	a := &aggregator{
		temporality:  temporality,
		bounds:       cfg.bucketBounds(),
		expoMax:      int(cfg.expoMaxSize()),
		limit:        cfg.AggregationCardinalityLimit,
		keyAttrs:     append([]string(nil), cfg.ResourceMetricsKeyAttributes...),
		metricsExp:   int64(cfg.MetricsExpiration),
		seriesExp:    int64(cfg.SeriesExpiration),
		resources:    make(map[uint64]*resourceEntry),
		overflowRes:  &resourceEntry{attrs: pcommon.NewMap()},
		scorers:      make(map[scorerKey]*scorerSeries),
		chains:       make(map[chainKey]*chainSeries),
		strs:         make(map[string]string),
		batchParents: make(map[uint64]parentRef),
		join:         newJoinStore(cfg.ParentJoin.MaxPending, int64(cfg.ParentJoin.Timeout)),
	}
	if cfg.Exemplars.Enabled {
		a.exemplarMax = cfg.Exemplars.MaxPerDataPoint
	}
	return a
}

// consume aggregates one batch. Spans outside the schema cost a Classify.
func (a *aggregator) consume(td ptrace.Traces, now int64) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var res *resourceEntry // looked up at the first schema span only
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				kind := schema.Classify(span.Name())
				if kind == schema.NotSchema {
					continue
				}
				if res == nil {
					res = a.resourceFor(rs.Resource(), now)
				}
				if kind == schema.Scoring {
					a.observeScoring(res, span, now)
				} else {
					a.observeScorer(res, span, now)
				}
			}
		}
	}
	a.resolveDeferred(now)
	a.expirePending(now)
}

// spanDuration returns the span's duration in seconds, or false when its
// timestamps are missing or reversed. Zero is a valid duration (coarse
// clocks produce it).
func spanDuration(span ptrace.Span) (float64, bool) {
	start, end := span.StartTimestamp(), span.EndTimestamp()
	if start == 0 || end < start {
		return 0, false
	}
	return float64(end-start) / 1e9, true
}

func (a *aggregator) observeScoring(res *resourceEntry, span ptrace.Span, now int64) {
	var model string
	var candidates int64 = -1
	for k, v := range span.Attributes().All() {
		switch k {
		case schema.AttrRequestModel:
			if v.Type() != pcommon.ValueTypeStr {
				a.stats.values[valueWrongType]++
				continue
			}
			model = v.Str()
		case schema.AttrScoringCandidates:
			if v.Type() != pcommon.ValueTypeInt {
				a.stats.values[valueWrongType]++
				continue
			}
			if candidates = v.Int(); candidates < 0 {
				a.stats.values[valueOutOfRange]++
			}
		}
	}
	// A parent with broken timestamps still hands its model down.
	a.joinParent(span, model, now)

	duration, ok := spanDuration(span)
	if !ok {
		a.stats.skipped[skipInvalidDuration]++
		return
	}
	a.stats.observed[familyScoring]++
	s := a.chainSeriesFor(res, model, now)
	s.lastSeen, s.dirty = now, true
	a.recordDuration(&s.duration, duration)
	if candidates >= 0 {
		s.candidates.record(candidateBounds, float64(candidates))
	}
	if a.exemplarMax > 0 {
		s.exemplars.add(a.exemplarMax, exemplar{trace: span.TraceID(), span: span.SpanID(), value: duration, ts: uint64(span.EndTimestamp())})
	}
}

// joinParent gives a scoring span's model to its children seen so far and
// registers it for the children still to come in this batch.
func (a *aggregator) joinParent(span ptrace.Span, model string, now int64) {
	id := span.SpanID()
	if id.IsEmpty() {
		return
	}
	key := spanKey(id)
	ref := parentRef{trace: span.TraceID(), model: model}
	// An SDK exports children just before their parent: they are the tail
	// of the deferred observations, joined here without a map look-up.
	n := len(a.deferred)
	for n > 0 && a.deferred[n-1].parent == key && a.deferred[n-1].trace == ref.trace {
		n--
	}
	for i := n; i < len(a.deferred); i++ {
		a.stats.matched++
		a.recordScorer(&a.deferred[i], model, now)
	}
	clear(a.deferred[n:])
	a.deferred = a.deferred[:n]
	// Children elsewhere in the batch find their parent here at the end
	// of the batch; children from earlier batches wait in the join store.
	a.batchParents[key] = ref
	if a.join.used > 0 {
		a.resolvePending(key, ref, now)
	}
}

func (a *aggregator) observeScorer(res *resourceEntry, span ptrace.Span, now int64) {
	duration, ok := spanDuration(span)
	if !ok {
		a.stats.skipped[skipInvalidDuration]++
		return
	}
	// Parse straight into a deferred slot, writing only the fields every
	// path reads: copying or zeroing the whole observation costs more than
	// parsing it.
	n := len(a.deferred)
	if n == cap(a.deferred) {
		a.deferred = append(a.deferred, childObs{})
	} else {
		a.deferred = a.deferred[:n+1]
	}
	o := &a.deferred[n]
	o.res, o.duration = res, duration
	o.typ, o.name, o.hasMax, o.hasAvg = "", "", false, false
	model, skip := a.parseScorer(span, o)
	if skip >= 0 {
		a.stats.skipped[skip]++
		a.dropLastDeferred()
		return
	}
	a.stats.observed[familyScorer]++
	o.isError = span.Status().Code() == ptrace.StatusCodeError
	o.trace, o.span, o.end = span.TraceID(), span.SpanID(), span.EndTimestamp()

	parent := span.ParentSpanID()
	switch {
	case model != "": // a model on the child wins and skips the wait
		a.recordScorer(o, model, now)
		a.dropLastDeferred()
	case parent.IsEmpty():
		a.stats.unmatched[unmatchedNoParent]++
		a.recordScorer(o, "", now)
		a.dropLastDeferred()
	default:
		o.parent = spanKey(parent)
	}
}

// parseScorer reads a scorer span's attributes into o. It returns the
// model on the child, if any, and the reason to skip the span or -1.
func (a *aggregator) parseScorer(span ptrace.Span, o *childObs) (model string, skip int) {
	for k, v := range span.Attributes().All() {
		switch k {
		case schema.AttrScorerType:
			if v.Type() != pcommon.ValueTypeStr {
				return "", skipWrongType
			}
			o.typ = v.Str()
		case schema.AttrScorerName:
			if v.Type() != pcommon.ValueTypeStr {
				return "", skipWrongType
			}
			o.name = v.Str()
		case schema.AttrScoreMax:
			o.scoreMax, o.hasMax = a.score(v)
		case schema.AttrScoreAvg:
			o.scoreAvg, o.hasAvg = a.score(v)
		case schema.AttrRequestModel:
			if v.Type() != pcommon.ValueTypeStr {
				a.stats.values[valueWrongType]++
				continue
			}
			model = v.Str()
		}
	}
	if o.typ == "" {
		// The span name carries the type too; the attribute wins when both exist.
		o.typ, _ = schema.ScorerType(span.Name())
	}
	if o.name == "" {
		return "", skipMissingAttribute
	}
	return model, -1
}

func (a *aggregator) dropLastDeferred() {
	a.deferred[len(a.deferred)-1] = childObs{}
	a.deferred = a.deferred[:len(a.deferred)-1]
}

// score reads a score attribute: a finite double.
func (a *aggregator) score(v pcommon.Value) (float64, bool) {
	if v.Type() != pcommon.ValueTypeDouble {
		a.stats.values[valueWrongType]++
		return 0, false
	}
	f := v.Double()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		a.stats.values[valueNotFinite]++
		return 0, false
	}
	return f, true
}

func (a *aggregator) recordScorer(o *childObs, model string, now int64) {
	s := a.scorerSeriesFor(o.res, o.typ, o.name, model, now)
	s.lastSeen, s.dirty = now, true
	a.recordDuration(&s.duration, o.duration)
	if o.isError {
		s.errors++
	}
	if o.hasMax {
		s.scoreMax.record(scoreBounds, o.scoreMax)
	}
	if o.hasAvg {
		s.scoreAvg.record(scoreBounds, o.scoreAvg)
	}
	if a.exemplarMax > 0 {
		s.exemplars.add(a.exemplarMax, exemplar{trace: o.trace, span: o.span, value: o.duration, ts: uint64(o.end)})
	}
}

// resolveDeferred joins the batch's scorer observations with parents of the
// same batch (the common case: children end, and are exported, just before
// their parent); the others wait in the join store.
func (a *aggregator) resolveDeferred(now int64) {
	for i := range a.deferred {
		o := &a.deferred[i]
		if p, ok := a.batchParents[o.parent]; ok && p.trace == o.trace {
			a.stats.matched++
			a.recordScorer(o, p.model, now)
			continue
		}
		a.hold(o, now)
	}
	clear(a.deferred) // drop references to the batch's strings
	a.deferred = a.deferred[:0]
	// Keep the per-batch buffers for the next batch, unless one huge batch
	// grew them: then let them go, so the heap is not held at its peak.
	if cap(a.deferred) > maxRetainedBatch {
		a.deferred = nil
	}
	if len(a.batchParents) > maxRetainedBatch/4 {
		a.batchParents = make(map[uint64]parentRef)
	} else {
		clear(a.batchParents)
	}
}

// maxRetainedBatch is the most scorer observations whose per-batch buffer
// outlives its batch.
const maxRetainedBatch = 8192

func spanKey(id pcommon.SpanID) uint64 {
	return uint64(id[0]) | uint64(id[1])<<8 | uint64(id[2])<<16 | uint64(id[3])<<24 |
		uint64(id[4])<<32 | uint64(id[5])<<40 | uint64(id[6])<<48 | uint64(id[7])<<56
}
