package instrument

import (
	"context"
	"math"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// Attribute keys, derived once from the schema so that no key string is
// typed here and none is built per request. They are never reassigned.
var (
	keyProfileName        = attribute.Key(schema.AttrProfileName)
	keyFilterCandidates   = attribute.Key(schema.AttrFilterCandidates)
	keyFilterFiltered     = attribute.Key(schema.AttrFilterFiltered)
	keyPickerCandidates   = attribute.Key(schema.AttrPickerCandidates)
	keyPickerTopScores    = attribute.Key(schema.AttrPickerTopScores)
	keyScorerCount        = attribute.Key(schema.AttrScorerCount)
	keyScoringCandidates  = attribute.Key(schema.AttrScoringCandidates)
	keyRequestModel       = attribute.Key(schema.AttrRequestModel)
	keyRequestID          = attribute.Key(schema.AttrRequestID)
	keyScorerType         = attribute.Key(schema.AttrScorerType)
	keyScorerName         = attribute.Key(schema.AttrScorerName)
	keyScorerWeight       = attribute.Key(schema.AttrScorerWeight)
	keyScorerCandidates   = attribute.Key(schema.AttrScorerCandidates)
	keyScoreMax           = attribute.Key(schema.AttrScoreMax)
	keyScoreAvg           = attribute.Key(schema.AttrScoreAvg)
	keyEndpointsScored    = attribute.Key(schema.AttrEndpointsScored)
	keyMMModality         = attribute.Key(schema.AttrMMModality)
	keyMMHashCount        = attribute.Key(schema.AttrMMHashCount)
	internalSpanStartOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
)

// Option configures a Tracer.
type Option func(*options)

type options struct{ provider trace.TracerProvider }

// WithTracerProvider makes the spans come from tp instead of the OTel
// global provider. A nil tp, or the global's own default provider, follows
// the global.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.provider = tp }
}

// Tracer starts the scheduling spans, in instrumentation scope
// schema.ScopeScheduler. Build one per scheduler (or per profile) and keep
// it: it caches its tracer. It is safe for concurrent use. A nil *Tracer
// never traces and costs nothing: it is the reference path "no tracing
// code" is measured against.
type Tracer struct {
	src tracerSource
	// decisions recycles the buffers of the recorded chains' decision
	// signals (*decision).
	decisions sync.Pool
}

// getDecision returns a decision buffer ready for a chain.
func (t *Tracer) getDecision(scorers, candidates int) *decision {
	d, _ := t.decisions.Get().(*decision)
	if d == nil {
		d = new(decision)
	}
	d.reset(scorers, candidates)
	return d
}

// NewTracer returns a Tracer; without options it follows the OTel global
// provider, so an SDK installed later is picked up.
func NewTracer(opts ...Option) *Tracer {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	t := &Tracer{}
	t.src.init(o.provider)
	return t
}

func (t *Tracer) get() trace.Tracer {
	if t == nil {
		return nil
	}
	return t.src.get()
}

// Request is what the spans say about the request being scheduled: its
// target model and id, each set only when non-empty (gen_ai.request.model,
// gen_ai.request.id).
type Request struct {
	Model string
	ID    string
}

// AppendAttributes appends the request's attributes to dst, for a
// plugin's own span.
func (r Request) AppendAttributes(dst []attribute.KeyValue) []attribute.KeyValue {
	return r.appendTo(dst)
}

// AppendNoMultimodal appends upstream's multimodal summary of a request
// without multimodal content (schema.AttrMMModality "none",
// schema.AttrMMHashCount 0), which upstream puts on its plugins' spans.
func AppendNoMultimodal(dst []attribute.KeyValue) []attribute.KeyValue {
	return append(dst, keyMMModality.String(schema.MMModalityNone), keyMMHashCount.Int(0))
}

func (r Request) appendTo(a []attribute.KeyValue) []attribute.KeyValue {
	if r.Model != "" {
		a = append(a, keyRequestModel.String(r.Model))
	}
	if r.ID != "" {
		a = append(a, keyRequestID.String(r.ID))
	}
	return a
}

// state is the attribute buffer of one recording root, used by its spans
// in turn (spans copy what SetAttributes hands them).
type state struct {
	attrs [12]attribute.KeyValue
	top   [schema.MaxTopScores]float64
}

// Profile is a started run_scheduler_profile span: one profile's run for
// one request. Its zero value records nothing.
type Profile struct {
	span trace.Span // started, recording or not; nil when tracing is off
	// owner, tracer and st are set only when span records.
	owner  *Tracer
	tracer trace.Tracer
	st     *state
}

// StartProfile starts the run_scheduler_profile span of the named profile
// (schema.AttrProfileName) and decides, once, whether the profile's spans
// record. The returned context carries the span either way, so that the
// profile's plugins follow the decision; End the Profile after its
// children.
func (t *Tracer) StartProfile(ctx context.Context, profile string) (context.Context, Profile) {
	tr := t.get()
	if tr == nil {
		return ctx, Profile{}
	}
	ctx, span := tr.Start(ctx, schema.SpanRunSchedulerProfile, internalSpanStartOpts...)
	p := Profile{span: span}
	if span.IsRecording() {
		p.owner, p.tracer, p.st = t, tr, new(state)
		span.SetAttributes(append(p.st.attrs[:0], keyProfileName.String(profile))...)
	}
	return ctx, p
}

// Recording tells whether the profile's spans record.
func (p Profile) Recording() bool { return p.tracer != nil }

// End ends the span.
func (p Profile) End() {
	if p.span != nil {
		p.span.End()
	}
}

// Filter is a started filter_endpoints span. Its zero value records nothing.
type Filter struct {
	span       trace.Span
	st         *state
	req        Request
	candidates int
}

// StartFilter starts the filter_endpoints span over the profile's filters,
// given the number of candidate endpoints. As upstream, a profile emits it
// even without filters.
func (p Profile) StartFilter(ctx context.Context, req Request, candidates int) (context.Context, Filter) {
	if p.tracer == nil {
		return ctx, Filter{}
	}
	ctx, span := p.tracer.Start(ctx, schema.SpanFilterEndpoints, internalSpanStartOpts...)
	return ctx, Filter{span: span, st: p.st, req: req, candidates: candidates}
}

// End records how many endpoints the filters kept and ends the span.
func (f Filter) End(kept int) {
	if f.span == nil {
		return
	}
	a := append(f.st.attrs[:0], keyFilterCandidates.Int(f.candidates))
	a = f.req.appendTo(a)
	a = append(a, keyFilterFiltered.Int(kept))
	f.span.SetAttributes(a...)
	f.span.End()
}

// Pick is a started pick_endpoints span. Its zero value records nothing.
type Pick struct {
	span trace.Span
}

// StartPick starts the pick_endpoints span, given the weighted total score
// of each candidate handed to the picker (call it before the picker, which
// may reorder them). The span carries the candidate count and, as upstream,
// the highest totals in descending order (schema.AttrPickerTopScores, at
// most schema.MaxTopScores), but not upstream's list of the endpoints they
// belong to: nothing here names an endpoint.
func (p Profile) StartPick(ctx context.Context, req Request, totals []float64) (context.Context, Pick) {
	if p.tracer == nil {
		return ctx, Pick{}
	}
	ctx, span := p.tracer.Start(ctx, schema.SpanPickEndpoints, internalSpanStartOpts...)
	a := append(p.st.attrs[:0], keyPickerCandidates.Int(len(totals)))
	if top := topScores(p.st.top[:0], totals); len(top) > 0 {
		a = append(a, keyPickerTopScores.Float64Slice(top))
	}
	a = req.appendTo(a)
	span.SetAttributes(a...)
	return ctx, Pick{span: span}
}

// End ends the span.
func (p Pick) End() {
	if p.span != nil {
		p.span.End()
	}
}

// topScores returns the largest values of totals (NaN skipped), in
// descending order, at most cap(dst) of them.
func topScores(dst, totals []float64) []float64 {
	limit := cap(dst)
	for _, v := range totals {
		if v != v {
			continue
		}
		if len(dst) == limit {
			if v <= dst[limit-1] {
				continue
			}
			dst = dst[:limit-1]
		}
		i := len(dst)
		dst = append(dst, v)
		for ; i > 0 && dst[i-1] < v; i-- {
			dst[i] = dst[i-1]
		}
		dst[i] = v
	}
	return dst
}

// Scorer is one configured scorer's span identity, built once: its span
// name (schema.ScorerSpanPrefix + type) and its type, name and weight
// attributes. It is immutable and safe for concurrent use.
type Scorer struct {
	spanName string
	weight   float64
	static   [3]attribute.KeyValue
}

// NewScorer builds the span identity of a scorer of plugin type typ,
// configured under name with weight.
func NewScorer(typ, name string, weight float64) *Scorer {
	return &Scorer{
		spanName: schema.ScorerSpanPrefix + typ,
		weight:   weight,
		static: [3]attribute.KeyValue{
			keyScorerType.String(typ),
			keyScorerName.String(name),
			keyScorerWeight.Float64(weight),
		},
	}
}

// SpanName returns the scorer's span name.
func (s *Scorer) SpanName() string { return s.spanName }

// Chain is a started llm_d.epp.scoring span over a scorer chain. Its zero
// value records nothing.
type Chain struct {
	span   trace.Span // started, recording or not; nil when not started
	owner  *Tracer
	tracer trace.Tracer
	st     *state
	dec    *decision // set only when span records
}

// StartChain starts the llm_d.epp.scoring span of a profile's scorer
// chain under the profile's span: scorers is the number of scorers in the
// chain (zero is fine: the span is emitted all the same, as upstream),
// candidates the number of endpoints they score.
func (p Profile) StartChain(ctx context.Context, req Request, scorers, candidates int) (context.Context, Chain) {
	if p.tracer == nil {
		return ctx, Chain{}
	}
	return startChain(ctx, p.owner, p.tracer, p.st, req, scorers, candidates)
}

// StartChain starts the llm_d.epp.scoring span as a root of its own: for an
// EPP that makes its other scheduling spans itself and adopts only the
// scoring chain. Whether the chain records is decided here, once, from
// the span; the returned context carries it either way.
func (t *Tracer) StartChain(ctx context.Context, req Request, scorers, candidates int) (context.Context, Chain) {
	tr := t.get()
	if tr == nil {
		return ctx, Chain{}
	}
	return startChain(ctx, t, tr, nil, req, scorers, candidates)
}

func startChain(ctx context.Context, owner *Tracer, tr trace.Tracer, st *state, req Request, scorers, candidates int) (context.Context, Chain) {
	ctx, span := tr.Start(ctx, schema.SpanScoring, internalSpanStartOpts...)
	if !span.IsRecording() {
		return ctx, Chain{span: span}
	}
	if st == nil {
		st = new(state)
	}
	// The span's attributes are set once, at End, with the decision's: one
	// SetAttributes call, so the SDK grows the span's attributes once.
	d := owner.getDecision(scorers, candidates)
	d.req = req
	return ctx, Chain{span: span, owner: owner, tracer: tr, st: st, dec: d}
}

// Recording tells whether the chain's spans record. When it does not, a
// caller may skip computing Stats altogether.
func (c Chain) Recording() bool { return c.tracer != nil }

// End ends the span, after its scorers' spans: call it once, after the
// last scorer. When the chain records and every scorer ended with its
// scores by candidate position (EndSlice, EndEndpoints, ScoreEndpoints),
// End first computes the decision signals (schema.AttrScorerDecisive on
// each scorer span, schema.AttrScoringMargin and schema.AttrScoringTied on
// the chain's; package schema defines them) and ends the scorer spans it
// held open, each with the time its scorer returned.
func (c Chain) End() {
	if c.span == nil {
		return
	}
	if c.dec != nil {
		c.dec.finish(c.span, c.st)
		c.owner.decisions.Put(c.dec)
	}
	c.span.End()
}

// ScorerSpan is a started llm_d.epp.scorer.<type> span. Its zero value
// records nothing.
type ScorerSpan struct {
	span       trace.Span
	scorer     *Scorer
	st         *state
	dec        *decision
	candidates int
}

// StartScorer starts the span of one scorer invocation over candidates
// endpoints; pass the returned context to the scorer, so that its own
// spans nest under it. Nothing is started when the chain does not record.
func (c Chain) StartScorer(ctx context.Context, s *Scorer, candidates int) (context.Context, ScorerSpan) {
	if c.tracer == nil {
		return ctx, ScorerSpan{}
	}
	ctx, span := c.tracer.Start(ctx, s.spanName, internalSpanStartOpts...)
	return ctx, ScorerSpan{span: span, scorer: s, st: c.st, dec: c.dec, candidates: candidates}
}

// Recording tells whether the span records.
func (s ScorerSpan) Recording() bool { return s.span != nil }

// End sets the scorer's attributes, with the aggregates of st when it
// scored at least one endpoint, and ends the span. It does not tell the
// chain the scores by candidate, so the chain gets no decision signal.
func (s ScorerSpan) End(st Stats) {
	if s.span == nil {
		return
	}
	if s.dec != nil {
		s.dec.incomplete = true
	}
	s.end(st)
}

func (s ScorerSpan) end(st Stats) {
	a := append(append(s.st.attrs[:0], s.scorer.static[:]...), keyScorerCandidates.Int(s.candidates))
	a = st.appendTo(a)
	s.span.SetAttributes(a...)
	s.span.End()
}

// EndSlice is End with the aggregates of the scorer's raw scores by
// candidate position: scores[e] is candidate e's (NaN: no score), over the
// chain's candidates in the same order for every scorer. It also gives the
// chain each candidate's weighted contribution (clamp01(score)·weight, 0
// for no score), so that, when every scorer ends this way, Chain.End sets
// the decision signals; the span then ends with the chain, at the time
// EndSlice was called.
func (s ScorerSpan) EndSlice(scores []float64) {
	if s.span == nil {
		return
	}
	var st Stats
	for _, v := range scores {
		st.Add(v)
	}
	row := s.row(len(scores))
	if row == nil {
		s.end(st)
		return
	}
	for e, v := range scores {
		row[e] = contribution(v, s.scorer.weight)
	}
	s.dec.hold(s.span, s.scorer, st, s.candidates)
}

// row returns the chain's contribution row for this scorer, nil when the
// chain takes none (the chain is then marked incomplete).
func (s ScorerSpan) row(n int) []float64 {
	if s.dec == nil {
		return nil
	}
	return s.dec.row(n)
}

// EndEndpoints is EndSlice for an upstream-shaped score map keyed by the
// caller's own endpoint type: endpoints are the chain's candidates, in the
// same order for every scorer; an endpoint missing from scores has no
// score. The aggregates are those of EndMap (every value of the map).
func EndEndpoints[E comparable](s ScorerSpan, endpoints []E, scores map[E]float64) {
	if s.span == nil {
		return
	}
	var st Stats
	for _, v := range scores {
		st.Add(v)
	}
	row := s.row(len(endpoints))
	if row == nil {
		s.end(st)
		return
	}
	for e, ep := range endpoints {
		v, ok := scores[ep]
		if !ok {
			v = math.NaN()
		}
		row[e] = contribution(v, s.scorer.weight)
	}
	s.dec.hold(s.span, s.scorer, st, s.candidates)
}

// EndMap is End with the aggregates of an upstream-shaped score map, keyed
// by the caller's own endpoint type.
func EndMap[E comparable](s ScorerSpan, scores map[E]float64) {
	if s.span == nil {
		return
	}
	var st Stats
	for _, v := range scores {
		st.Add(v)
	}
	s.End(st)
}

// ScoreEndpoints is Score given the chain's candidates themselves (in the
// same order for every scorer of the chain) rather than their number: the
// scorer's span ends through EndEndpoints, so that the chain gets its
// decision signals. When the chain does not record, it is score(ctx) and
// nothing more.
func ScoreEndpoints[E comparable](ctx context.Context, c Chain, s *Scorer, endpoints []E, score func(context.Context) map[E]float64) map[E]float64 {
	if c.tracer == nil {
		return score(ctx)
	}
	sctx, span := c.StartScorer(ctx, s, len(endpoints))
	scores := score(sctx)
	EndEndpoints(span, endpoints, scores)
	return scores
}

// Score runs one upstream-shaped scorer inside its span: score is called
// with the span's context and its map is returned unchanged. When the
// chain does not record, it is score(ctx) and nothing more.
func Score[E comparable](ctx context.Context, c Chain, s *Scorer, candidates int, score func(context.Context) map[E]float64) map[E]float64 {
	if c.tracer == nil {
		return score(ctx)
	}
	sctx, span := c.StartScorer(ctx, s, candidates)
	scores := score(sctx)
	EndMap(span, scores)
	return scores
}

// Stats are the aggregates of one scorer invocation's raw scores.
type Stats struct {
	// Scored is how many scores were added (NaN skipped).
	Scored int
	// Max and Sum are the largest score and the sum of the scores.
	Max, Sum float64
}

// Add adds a raw score; NaN (no score) is skipped.
func (s *Stats) Add(v float64) {
	if v != v {
		return
	}
	if s.Scored == 0 || v > s.Max {
		s.Max = v
	}
	s.Sum += v
	s.Scored++
}

// AppendAttributes appends the aggregates (score.max, score.avg,
// endpoints_scored) to dst, nothing when no score was added: for a
// plugin's own span that repeats them, as upstream's score_prefix_cache.
func (s Stats) AppendAttributes(dst []attribute.KeyValue) []attribute.KeyValue {
	return s.appendTo(dst)
}

func (s Stats) appendTo(a []attribute.KeyValue) []attribute.KeyValue {
	if s.Scored == 0 {
		return a
	}
	return append(a,
		keyScoreMax.Float64(s.Max),
		keyScoreAvg.Float64(s.Sum/float64(s.Scored)),
		keyEndpointsScored.Int(s.Scored))
}
