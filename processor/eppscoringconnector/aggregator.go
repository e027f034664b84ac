package eppscoringconnector

import (
	"strings"

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
	// The chain's wait for its run_scheduler_profile parent.
	profileMatched   int64
	profileUnmatched [nUnmatchedReasons]int64
	// Spans whose tracestate held a malformed sampling threshold.
	invalidThreshold int64
}

// aggregator is the connector's whole state; the connector's mutex guards
// it, taken once per batch and once per flush.
type aggregator struct {
	temporality pmetric.AggregationTemporality
	bounds      []float64 // explicit duration bounds, seconds
	buckets     bucketer  // finds a duration's bucket among bounds
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
	// lastChain is the chain series looked up last, and kidsGen the
	// generation of every chain's kids (scorerSeriesOf); expiry resets
	// both.
	lastChain *chainSeries
	kidsGen   uint32

	// Per batch, reused: parents seen in the batch and observations that
	// wait for the end of the batch to find them.
	// parentList holds the batch's scoring spans in arrival order;
	// batchParents is built from it at the end of the batch, and only
	// when a child is still waiting for its parent then: in the common
	// case every child joined its parent at once, and no map is touched.
	parentList    []batchParent
	batchParents  map[uint64]parentRef
	batchProfiles map[uint64]profileRef
	deferred      []obs
	// deferredHigh is the most deferred slots used in this batch: slots
	// past len(deferred) may hold stale observations, cleared once at the
	// batch's end rather than each time the tail is joined.
	deferredHigh int
	// profileWaits counts observations waiting for a profile (deferred and
	// held).
	profileWaits int
	// profileScopes are the instrumentation scopes, beyond upstream's, that
	// sent a run_scheduler_profile span: their chains wait for their
	// profile across batches too. Bounded by maxProfileScopes.
	profileScopes map[string]struct{}

	join     joinStore
	sampling samplingState
	stats    stats

	// On every emitted resource and scope: the collector's
	// service.instance.id and the component's version.
	instanceID string
	version    string
}

// parentRef is what a scoring span passes to its children: the model and,
// when the chain waits for its run_scheduler_profile parent, that parent's
// key (0 when it does not wait).
type parentRef struct {
	trace      pcommon.TraceID
	model      string
	profileKey uint64
	batchOnly  bool // the chain looks for its profile in its own batch only
}

// batchParent is one scoring span of the batch, under its span key.
type batchParent struct {
	key uint64
	ref parentRef
}

// profileRef is what a run_scheduler_profile span passes to its chain.
type profileRef struct {
	trace   pcommon.TraceID
	profile string
}

// What an observation waits for.
const (
	waitScoring = iota // a scorer span waits for its scoring span (the model)
	waitProfile        // a chain and its scorers wait for run_scheduler_profile
)

// obs is one schema span, parsed, until it is recorded: at once, at the end
// of its batch, or from the join store when what it waits for arrives.
type obs struct {
	res          *resourceEntry
	family       uint8 // familyScorer or familyScoring
	wait         uint8 // waitScoring or waitProfile, while it waits
	hasMax       bool
	hasAvg       bool
	isError      bool
	extrapolated bool
	typ, name    string // scorers
	model        string
	profile      string
	duration     float64
	scoreMax     float64
	scoreAvg     float64
	weight       float64 // adjusted count
	candidates   int64   // chains; -1 when absent
	tied         int64   // chains: schema.AttrScoringTied, -1 when absent
	margin       float64 // chains: schema.AttrScoringMargin, when hasMargin
	hasMargin    bool
	decisive     int8 // scorers: schema.AttrScorerDecisive, -1 absent, 0 false, 1 true
	trace        pcommon.TraceID
	span         pcommon.SpanID
	end          pcommon.Timestamp
	parent       uint64 // key of the span waited for
	// batchOnly: a chain (or its scorer) of a scope not known to nest its
	// chains under run_scheduler_profile looks for that parent in its own
	// batch only, and is recorded without a profile at the batch's end.
	batchOnly bool
}

func newAggregator(cfg *Config) *aggregator {
	temporality, _ := parseTemporality(cfg.AggregationTemporality)
	a := &aggregator{
		temporality:   temporality,
		bounds:        cfg.bucketBounds(),
		expoMax:       int(cfg.expoMaxSize()),
		limit:         cfg.AggregationCardinalityLimit,
		keyAttrs:      append([]string(nil), cfg.ResourceMetricsKeyAttributes...),
		metricsExp:    int64(cfg.MetricsExpiration),
		seriesExp:     int64(cfg.SeriesExpiration),
		resources:     make(map[uint64]*resourceEntry),
		overflowRes:   &resourceEntry{attrs: pcommon.NewMap()},
		scorers:       make(map[scorerKey]*scorerSeries),
		chains:        make(map[chainKey]*chainSeries),
		strs:          make(map[string]string),
		batchParents:  make(map[uint64]parentRef),
		batchProfiles: make(map[uint64]profileRef),
		profileScopes: make(map[string]struct{}),
		join:          newJoinStore(cfg.ParentJoin.MaxPending, int64(cfg.ParentJoin.Timeout)),
		sampling:      newSamplingState(cfg),
	}
	a.buckets = newBucketer(a.bounds)
	if cfg.Exemplars.Enabled {
		a.exemplarMax = cfg.Exemplars.MaxPerDataPoint
	}
	return a
}

// consume aggregates one batch. Spans outside the schema cost a Classify,
// and run_scheduler_profile spans a look at what waits for them.
func (a *aggregator) consume(td ptrace.Traces, now int64) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var res *resourceEntry // looked up at the first schema span only
		var fallback float64
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			// Upstream's scheduler runs every scoring chain under a
			// run_scheduler_profile span of the same scope, and so do
			// scopes that sent one before: their chains wait for that
			// parent's profile name across batches. Others look for it
			// in their own batch only.
			scope := ss.Scope().Name()
			upstream := strings.HasPrefix(scope, schema.UpstreamScopePrefix)
			if !upstream && len(a.profileScopes) > 0 {
				_, upstream = a.profileScopes[scope]
			}
			watch := a.profilesWanted(upstream)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				name := span.Name()
				kind := schema.Classify(name)
				if kind == schema.NotSchema {
					if watch && name == schema.SpanRunSchedulerProfile {
						// A scope whose profile span was a chain's parent
						// nests its chains under profiles: learn it.
						if a.observeProfile(span, upstream, now) && !upstream {
							upstream = a.learnProfileScope(scope)
						}
						watch = a.profilesWanted(upstream)
					}
					continue
				}
				if res == nil {
					res = a.resourceFor(rs.Resource(), now)
					fallback = a.sampling.fallbackWeight(rs.Resource())
				}
				if kind == schema.Scoring {
					a.observeScoring(res, span, upstream, fallback, now)
				} else {
					a.observeScorer(res, span, upstream, fallback, now)
				}
				watch = a.profilesWanted(upstream)
			}
		}
	}
	a.resolveDeferred(now)
	a.expirePending(now)
}

// profilesWanted says whether a run_scheduler_profile span has anything
// to give (see observeProfile): the chains of an upstream scope wait for
// their profile, or something waits. consume keeps it in a local, renewed
// after each span that may change it, so other spans pay one test.
func (a *aggregator) profilesWanted(upstream bool) bool {
	return upstream || a.profileWaits > 0 || a.join.used > 0
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

// pushDeferred returns a fresh slot at the end of the deferred
// observations, reusing the buffer. The slot may hold a stale
// observation of this batch: callers write every field.
func (a *aggregator) pushDeferred() *obs {
	n := len(a.deferred)
	if n == cap(a.deferred) {
		a.deferred = append(a.deferred, obs{})
	} else {
		a.deferred = a.deferred[:n+1]
	}
	if n >= a.deferredHigh {
		a.deferredHigh = n + 1
	}
	return &a.deferred[n]
}

func (a *aggregator) dropLastDeferred() {
	a.deferred[len(a.deferred)-1] = obs{}
	a.deferred = a.deferred[:len(a.deferred)-1]
}

func (a *aggregator) observeScoring(res *resourceEntry, span ptrace.Span, upstream bool, fallback float64, now int64) {
	var model string
	var candidates, tied int64 = -1, -1
	var margin float64
	var hasMargin bool
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
		case schema.AttrScoringTied:
			if v.Type() != pcommon.ValueTypeInt {
				a.stats.values[valueWrongType]++
				continue
			}
			if tied = v.Int(); tied < 1 {
				a.stats.values[valueOutOfRange]++
				tied = -1
			}
		case schema.AttrScoringMargin:
			if margin, hasMargin = a.score(v); hasMargin && margin < 0 {
				a.stats.values[valueOutOfRange]++
				hasMargin = false
			}
		}
	}
	var profileKey uint64
	duration, ok := spanDuration(span)
	if p := span.ParentSpanID(); !p.IsEmpty() {
		profileKey = spanKey(p)
	} else if upstream && ok {
		a.stats.profileUnmatched[unmatchedNoParent]++
	}
	batchOnly := !upstream
	if !ok {
		// A parent with broken timestamps still hands its model down.
		a.joinParent(span, model, profileKey, batchOnly, now)
		a.stats.skipped[skipInvalidDuration]++
		return
	}
	a.stats.observed[familyScoring]++
	weight, extrapolated, invalid := a.sampling.weight(span, fallback)
	if invalid {
		a.stats.invalidThreshold++
	}
	// A chain that waits for nothing is recorded at once, as recordObs
	// would record it, without building an observation. Its series is
	// looked up before the children join, so that they find theirs among
	// its kids; the counts are rounded in arrival order all the same.
	var chain *chainSeries
	if profileKey == 0 {
		chain = a.chainSeriesFor(res, model, "", a.sampling.method(extrapolated), now)
	}
	a.joinParent(span, model, profileKey, batchOnly, now)
	if chain != nil {
		n := a.sampling.round(weight)
		a.recordChainValues(chain, duration, candidates, tied, margin, hasMargin, n,
			span.TraceID(), span.SpanID(), span.EndTimestamp(), now)
		return
	}
	o := a.pushDeferred()
	*o = obs{
		res: res, family: familyScoring, wait: waitProfile, extrapolated: extrapolated,
		model: model, duration: duration, weight: weight, candidates: candidates,
		tied: tied, margin: margin, hasMargin: hasMargin,
		trace: span.TraceID(), span: span.SpanID(), end: span.EndTimestamp(), parent: profileKey,
		batchOnly: batchOnly,
	}
	a.profileWaits++
}

// maxProfileScopes bounds the scopes learned from their
// run_scheduler_profile spans.
const maxProfileScopes = 64

// learnProfileScope remembers that a scope nests its chains under
// run_scheduler_profile; it reports whether the scope is now known.
func (a *aggregator) learnProfileScope(scope string) bool {
	if len(a.profileScopes) >= maxProfileScopes {
		return false
	}
	a.profileScopes[strings.Clone(scope)] = struct{}{}
	return true
}

// joinParent gives a scoring span's model to its children seen so far and
// registers it for the children still to come in this batch. When the
// chain waits for its profile, the children wait with it.
func (a *aggregator) joinParent(span ptrace.Span, model string, profileKey uint64, batchOnly bool, now int64) {
	id := span.SpanID()
	if id.IsEmpty() {
		return
	}
	key := spanKey(id)
	ref := parentRef{trace: span.TraceID(), model: model, profileKey: profileKey, batchOnly: batchOnly}
	// An SDK exports children just before their parent: they are the tail
	// of the deferred observations, joined here without a map look-up.
	n := len(a.deferred)
	for n > 0 {
		o := &a.deferred[n-1]
		if o.wait != waitScoring || o.parent != key || o.trace != ref.trace {
			break
		}
		n--
	}
	for i := n; i < len(a.deferred); i++ {
		o := &a.deferred[i]
		a.stats.matched++
		if o.model == "" {
			o.model = model
		}
		if profileKey != 0 {
			o.wait, o.parent, o.batchOnly = waitProfile, profileKey, batchOnly
			a.profileWaits++
			continue
		}
		a.recordObs(o, now)
	}
	if profileKey == 0 {
		a.deferred = a.deferred[:n] // the slots are cleared at the batch's end
	}
	// Children elsewhere in the batch find their parent here at the end
	// of the batch; children from earlier batches wait in the join store.
	a.parentList = append(a.parentList, batchParent{key: key, ref: ref})
	if a.join.used > 0 {
		a.resolvePending(key, arrival{kind: arrivedScoring, trace: ref.trace, model: model, profileKey: profileKey, batchOnly: batchOnly}, now)
	}
}

// observeProfile gives a run_scheduler_profile span's profile name to the
// chain (and its scorers) that wait for it, and reports whether a chain
// was the tail of the batch. The span is kept for the end of the batch in
// scopes whose chains wait for profiles (register), or while something
// waits; other run_scheduler_profile spans cost no map insert. consume
// calls it only then: when nothing waits, here or in the join store, and
// the scope's chains look for no profile (a scope that nests no chains
// under its profiles), the span has nothing to give.
func (a *aggregator) observeProfile(span ptrace.Span, register bool, now int64) (chainFound bool) {
	id := span.SpanID()
	if id.IsEmpty() {
		return
	}
	var profile string
	if v, ok := span.Attributes().Get(schema.AttrProfileName); ok {
		if v.Type() == pcommon.ValueTypeStr {
			profile = v.Str()
		} else {
			a.stats.values[valueWrongType]++
		}
	}
	key, trace := spanKey(id), span.TraceID()
	// The chain ended just before its profile span: it is the tail.
	n := len(a.deferred)
	for n > 0 {
		o := &a.deferred[n-1]
		if o.wait != waitProfile || o.parent != key || o.trace != trace {
			break
		}
		n--
	}
	// The chain ends the tail, after its scorers: its series is looked
	// up first so that they find theirs among its kids.
	last := len(a.deferred) - 1
	var chain *chainSeries
	if last >= n && a.deferred[last].family == familyScoring {
		c := &a.deferred[last]
		chain = a.chainSeriesFor(c.res, c.model, profile, a.sampling.method(c.extrapolated), now)
	}
	for i := n; i <= last; i++ {
		o := &a.deferred[i]
		o.profile = profile
		if o.family == familyScoring {
			a.stats.profileMatched++
			chainFound = true
			if i == last && chain != nil {
				a.recordChainObs(o, chain, now)
				continue
			}
		}
		a.recordObs(o, now)
	}
	a.deferred = a.deferred[:n] // the slots are cleared at the batch's end
	if register || a.profileWaits > 0 {
		a.batchProfiles[key] = profileRef{trace: trace, profile: profile}
	}
	if a.join.used > 0 {
		a.resolvePending(key, arrival{kind: arrivedProfile, trace: trace, profile: profile}, now)
	}
	return chainFound
}

func (a *aggregator) observeScorer(res *resourceEntry, span ptrace.Span, upstream bool, fallback float64, now int64) {
	duration, ok := spanDuration(span)
	if !ok {
		a.stats.skipped[skipInvalidDuration]++
		return
	}
	// Parse straight into a deferred slot, writing each field once:
	// copying or zeroing the whole observation costs more than parsing it.
	// The fields a scorer leaves unset are written here, since the slot
	// may hold an earlier observation of the batch.
	o := a.pushDeferred()
	o.res, o.duration, o.family, o.wait = res, duration, familyScorer, waitScoring
	o.typ, o.name, o.hasMax, o.hasAvg, o.profile, o.decisive = "", "", false, false, "", -1
	o.scoreMax, o.scoreAvg, o.candidates, o.tied, o.margin, o.hasMargin = 0, 0, 0, 0, 0, false
	o.parent, o.batchOnly = 0, false
	model, skip := a.parseScorer(span, o)
	if skip >= 0 {
		a.stats.skipped[skip]++
		a.dropLastDeferred()
		return
	}
	a.stats.observed[familyScorer]++
	o.model = model
	o.isError = span.Status().Code() == ptrace.StatusCodeError
	o.trace, o.span, o.end = span.TraceID(), span.SpanID(), span.EndTimestamp()
	var invalid bool
	o.weight, o.extrapolated, invalid = a.sampling.weight(span, fallback)
	if invalid {
		a.stats.invalidThreshold++
	}

	parent := span.ParentSpanID()
	switch {
	case model != "" && !upstream:
		// A model on the child wins and skips the wait (in upstream's
		// scopes the child still waits, for its chain's profile).
		a.recordObs(o, now)
		a.dropLastDeferred()
	case parent.IsEmpty():
		if model == "" {
			a.stats.unmatched[unmatchedNoParent]++
		}
		a.recordObs(o, now)
		a.dropLastDeferred()
	default:
		o.parent = spanKey(parent)
	}
}

// parseScorer reads a scorer span's attributes into o. It returns the
// model on the child, if any, and the reason to skip the span or -1.
//
// The keys are told apart by their last eight bytes before one full
// comparison (scorerKeyTags): a switch on the key itself compares the key
// with every case of its length, and the type and name keys share theirs,
// as do the two score keys.
func (a *aggregator) parseScorer(span ptrace.Span, o *obs) (model string, skip int) {
	for k, v := range span.Attributes().All() {
		if len(k) < 8 {
			continue
		}
		switch tail8(k) {
		case tagScorerType:
			if k != schema.AttrScorerType {
				continue
			}
			if v.Type() != pcommon.ValueTypeStr {
				return "", skipWrongType
			}
			o.typ = v.Str()
		case tagScorerName:
			if k != schema.AttrScorerName {
				continue
			}
			if v.Type() != pcommon.ValueTypeStr {
				return "", skipWrongType
			}
			o.name = v.Str()
		case tagScoreMax:
			if k == schema.AttrScoreMax {
				o.scoreMax, o.hasMax = a.score(v)
			}
		case tagScoreAvg:
			if k == schema.AttrScoreAvg {
				o.scoreAvg, o.hasAvg = a.score(v)
			}
		case tagScorerDecisive:
			if k != schema.AttrScorerDecisive {
				continue
			}
			if v.Type() != pcommon.ValueTypeBool {
				a.stats.values[valueWrongType]++
				continue
			}
			o.decisive = 0
			if v.Bool() {
				o.decisive = 1
			}
		case tagRequestModel:
			if k != schema.AttrRequestModel {
				continue
			}
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

// The last eight bytes of each key a scorer span is read for
// (TestScorerKeyTagsDistinct keeps them apart).
var (
	tagScorerType     = tail8(schema.AttrScorerType)
	tagScorerName     = tail8(schema.AttrScorerName)
	tagScoreMax       = tail8(schema.AttrScoreMax)
	tagScoreAvg       = tail8(schema.AttrScoreAvg)
	tagScorerDecisive = tail8(schema.AttrScorerDecisive)
	tagRequestModel   = tail8(schema.AttrRequestModel)
)

// tail8 returns the last eight bytes of s (at least eight long) as one
// word; the compiler makes it a single load.
func tail8(s string) uint64 {
	s = s[len(s)-8:]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// score reads a score attribute: a finite double.
func (a *aggregator) score(v pcommon.Value) (float64, bool) {
	if v.Type() != pcommon.ValueTypeDouble {
		a.stats.values[valueWrongType]++
		return 0, false
	}
	if f := v.Double(); f-f == 0 { // NaN and ±Inf give NaN
		return f, true
	}
	a.stats.values[valueNotFinite]++
	return 0, false
}

// recordObs adds an observation to its series, with its adjusted count
// rounded once so that all of its counts agree.
func (a *aggregator) recordObs(o *obs, now int64) {
	if o.family == familyScoring {
		a.recordChainObs(o, nil, now)
		return
	}
	if o.wait == waitProfile {
		a.profileWaits--
	}
	a.recordScorer(o, a.sampling.round(o.weight), a.sampling.method(o.extrapolated), now)
}

// recordChainObs is recordObs for a chain, into s when the caller looked
// its series up already (nil: looked up here, once, so that an overflow
// is counted once).
func (a *aggregator) recordChainObs(o *obs, s *chainSeries, now int64) {
	if o.wait == waitProfile {
		a.profileWaits--
	}
	n := a.sampling.round(o.weight)
	if s == nil {
		s = a.chainSeriesFor(o.res, o.model, o.profile, a.sampling.method(o.extrapolated), now)
	}
	a.recordChainValues(s, o.duration, o.candidates, o.tied, o.margin, o.hasMargin, n, o.trace, o.span, o.end, now)
}

func (a *aggregator) recordScorer(o *obs, n uint64, method uint8, now int64) {
	s := a.scorerSeriesOf(o, method, now)
	s.lastSeen, s.dirty = now, true
	a.recordDuration(&s.duration, o.duration, n)
	if o.isError {
		s.errors += n
	}
	if o.hasMax {
		s.scoreMax.record(&scoreBuckets, o.scoreMax, n)
	}
	if o.hasAvg {
		s.scoreAvg.record(&scoreBuckets, o.scoreAvg, n)
	}
	if o.decisive >= 0 {
		s.decided += n
		s.decisive += uint64(o.decisive) * n
	}
	if a.exemplarMax > 0 {
		s.exemplars.add(a.exemplarMax, exemplar{trace: o.trace, span: o.span, value: o.duration, ts: uint64(o.end)})
	}
}

// recordChainValues adds n observations of one chain to its series.
func (a *aggregator) recordChainValues(s *chainSeries, duration float64, candidates, tied int64, margin float64, hasMargin bool,
	n uint64, trace pcommon.TraceID, span pcommon.SpanID, end pcommon.Timestamp, now int64,
) {
	s.lastSeen, s.dirty = now, true
	a.recordDuration(&s.duration, duration, n)
	if candidates >= 0 {
		s.candidates.record(&candidateBuckets, float64(candidates), n)
	}
	if tied >= 1 {
		s.decided += n
		if tied > 1 {
			s.ties += n
		}
	}
	if hasMargin {
		s.margin.record(&marginBuckets, margin, n)
	}
	if a.exemplarMax > 0 {
		s.exemplars.add(a.exemplarMax, exemplar{trace: trace, span: span, value: duration, ts: uint64(end)})
	}
}

// resolveDeferred joins the batch's observations with parents of the same
// batch (the common case: children end, and are exported, just before
// their parent); the others wait in the join store.
func (a *aggregator) resolveDeferred(now int64) {
	for i := range a.deferred {
		if a.deferred[i].wait == waitScoring {
			// Later spans win, as map assignments in arrival order.
			for _, p := range a.parentList {
				a.batchParents[p.key] = p.ref
			}
			break
		}
	}
	for i := range a.deferred {
		o := &a.deferred[i]
		if o.wait == waitScoring {
			p, ok := a.batchParents[o.parent]
			if !ok || p.trace != o.trace {
				a.hold(o, now)
				continue
			}
			a.stats.matched++
			if o.model == "" {
				o.model = p.model
			}
			if p.profileKey == 0 {
				a.recordObs(o, now)
				continue
			}
			o.wait, o.parent, o.batchOnly = waitProfile, p.profileKey, p.batchOnly
			a.profileWaits++
		}
		if p, ok := a.batchProfiles[o.parent]; ok && p.trace == o.trace {
			o.profile = p.profile
			if o.family == familyScoring {
				a.stats.profileMatched++
			}
			a.recordObs(o, now)
			continue
		}
		if o.batchOnly {
			// Its parent is not a run_scheduler_profile of this batch:
			// recorded as before profiles existed, without one.
			a.recordObs(o, now)
			continue
		}
		a.hold(o, now)
	}
	clear(a.deferred[:a.deferredHigh]) // drop references to the batch's strings
	a.deferred, a.deferredHigh = a.deferred[:0], 0
	// Keep the per-batch buffers for the next batch, unless one huge batch
	// grew them: then let them go, so the heap is not held at its peak.
	if cap(a.deferred) > maxRetainedBatch {
		a.deferred = nil
	}
	clear(a.parentList) // drop references to the batch's strings
	a.parentList = a.parentList[:0]
	if cap(a.parentList) > maxRetainedBatch/4 {
		a.parentList = nil
	}
	if len(a.batchParents) > maxRetainedBatch/4 {
		a.batchParents = make(map[uint64]parentRef)
	} else if len(a.batchParents) > 0 {
		clear(a.batchParents)
	}
	if len(a.batchProfiles) > maxRetainedBatch/4 {
		a.batchProfiles = make(map[uint64]profileRef)
	} else if len(a.batchProfiles) > 0 {
		clear(a.batchProfiles)
	}
}

// maxRetainedBatch is the most scorer observations whose per-batch buffer
// outlives its batch.
const maxRetainedBatch = 8192

func spanKey(id pcommon.SpanID) uint64 {
	return uint64(id[0]) | uint64(id[1])<<8 | uint64(id[2])<<16 | uint64(id[3])<<24 |
		uint64(id[4])<<32 | uint64(id[5])<<40 | uint64(id[6])<<48 | uint64(id[7])<<56
}
