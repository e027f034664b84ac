package eppscoringconnector

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/scorelens/scorelens/processor/eppscoringconnector/internal/metadata"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// emit expires what outlived its expiration, then writes every series due
// (all of them in cumulative, those observed since the last flush in delta)
// and, in delta, starts the next interval. Allocation happens here, once
// per flush, never per span.
func (a *aggregator) emit(now int64) pmetric.Metrics {
	a.expire(now)
	md := pmetric.NewMetrics()
	for _, r := range a.resOrder {
		a.emitResource(md, r, now)
	}
	a.emitResource(md, a.overflowRes, now)
	return md
}

// metricSet holds the metrics of one resource, created on first use so a
// resource only carries metrics that have points.
type metricSet struct {
	sm      pmetric.ScopeMetrics
	metrics [nMetrics]pmetric.Metric
	has     [nMetrics]bool
}

// The emitted metrics, in schema.Metrics() order.
const (
	mScorerDuration = iota
	mScorerCalls
	mScorerErrors
	mScoreMax
	mScoreAvg
	mScorerDecisive
	mScoringDuration
	mScoringCandidates
	mScoringMargin
	mScoringTies
	nMetrics
)

type metricKind uint8

const (
	kindDuration  metricKind = iota // explicit or exponential, per config
	kindCounter                     // monotonic int sum
	kindHistogram                   // explicit, fixed bounds
)

// metricDescs describe the emitted metrics, indexed by the m* constants
// (documentation.md lists them for operators).
var metricDescs = [nMetrics]struct {
	name, description, unit string
	kind                    metricKind
}{
	mScorerDuration:    {schema.MetricScorerDuration, "Duration of one scorer invocation.", "s", kindDuration},
	mScorerCalls:       {schema.MetricScorerCalls, "Scorer invocations.", "{call}", kindCounter},
	mScorerErrors:      {schema.MetricScorerErrors, "Scorer invocations whose span ended with status Error.", "{call}", kindCounter},
	mScoreMax:          {schema.MetricScorerScoreMax, "Largest score a scorer returned, per invocation that returned scores.", "1", kindHistogram},
	mScoreAvg:          {schema.MetricScorerScoreAvg, "Mean score a scorer returned, per invocation that returned scores.", "1", kindHistogram},
	mScoringDuration:   {schema.MetricScoringDuration, "Duration of a whole scorer chain (the scoring span).", "s", kindDuration},
	mScoringCandidates: {schema.MetricScoringCandidates, "Candidate endpoints a scorer chain scored, per request.", "{endpoint}", kindHistogram},
	mScorerDecisive:    {schema.MetricScorerDecisive, "Scorer invocations that were decisive: without the scorer's weighted contribution the best total would belong to other endpoints.", "{call}", kindCounter},
	mScoringMargin:     {schema.MetricScoringMargin, "Margin between the best and the runner-up weighted totals, divided by the sum of the weights, per chain with two candidates or more.", "1", kindHistogram},
	mScoringTies:       {schema.MetricScoringTies, "Scorer chains whose best weighted total was shared by two endpoints or more: the pick was a coin toss.", "{chain}", kindCounter},
}

func (a *aggregator) emitResource(md pmetric.Metrics, r *resourceEntry, now int64) {
	delta := a.temporality == pmetric.AggregationTemporalityDelta
	var set *metricSet
	get := func(i int) pmetric.Metric {
		if set == nil {
			rm := md.ResourceMetrics().AppendEmpty()
			r.attrs.CopyTo(rm.Resource().Attributes())
			// The writer's identity: replicas never emit the same series.
			rm.Resource().Attributes().PutStr(schema.AttrCollectorInstanceID, a.instanceID)
			set = &metricSet{sm: rm.ScopeMetrics().AppendEmpty()}
			set.sm.Scope().SetName(metadata.ScopeName)
			set.sm.Scope().SetVersion(a.version)
			// Fix the metric order so output is stable whatever comes first.
			for m := range set.metrics {
				set.metrics[m] = set.sm.Metrics().AppendEmpty()
				a.describe(set.metrics[m], m)
			}
		}
		set.has[i] = true
		return set.metrics[i]
	}
	ts := pcommon.Timestamp(now)
	for _, s := range r.scorers {
		if delta && !s.dirty {
			continue
		}
		start := pcommon.Timestamp(s.start)
		attrs := s.key.putAttributes
		n := a.durationCount(&s.duration)
		a.emitDuration(get(mScorerDuration), &s.duration, &s.exemplars, start, ts, attrs)
		emitSum(get(mScorerCalls), n, start, ts, attrs)
		emitSum(get(mScorerErrors), s.errors, start, ts, attrs)
		if s.scoreMax.count > 0 {
			emitExplicit(get(mScoreMax), &s.scoreMax, scoreBounds, nil, start, ts, attrs)
		}
		if s.scoreAvg.count > 0 {
			emitExplicit(get(mScoreAvg), &s.scoreAvg, scoreBounds, nil, start, ts, attrs)
		}
		if s.decided > 0 {
			emitSum(get(mScorerDecisive), s.decisive, start, ts, attrs)
		}
		s.exemplars.reset()
		if delta {
			s.duration.reset()
			s.errors = 0
			s.scoreMax.reset()
			s.scoreAvg.reset()
			s.decided, s.decisive = 0, 0
			s.start = uint64(now)
		}
		s.dirty = false
	}
	for _, s := range r.chains {
		if delta && !s.dirty {
			continue
		}
		start := pcommon.Timestamp(s.start)
		attrs := s.key.putAttributes
		a.emitDuration(get(mScoringDuration), &s.duration, &s.exemplars, start, ts, attrs)
		if s.candidates.count > 0 {
			emitExplicit(get(mScoringCandidates), &s.candidates, candidateBounds, nil, start, ts, attrs)
		}
		if s.margin.count > 0 {
			emitExplicit(get(mScoringMargin), &s.margin, marginBounds, nil, start, ts, attrs)
		}
		if s.decided > 0 {
			emitSum(get(mScoringTies), s.ties, start, ts, attrs)
		}
		s.exemplars.reset()
		if delta {
			s.duration.reset()
			s.candidates.reset()
			s.margin.reset()
			s.decided, s.ties = 0, 0
			s.start = uint64(now)
		}
		s.dirty = false
	}
	if set != nil {
		// Drop the metrics this resource had no points for.
		set.sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
			for i := range set.metrics {
				if set.has[i] && set.metrics[i].Name() == m.Name() {
					return false
				}
			}
			return true
		})
	}
}

// putAttributes writes a scorer series' data point attributes.
func (k *scorerKey) putAttributes(dst pcommon.Map) {
	if k.overflowing {
		dst.PutBool(schema.AttrMetricOverflow, true)
		return
	}
	dst.PutStr(schema.AttrScorerType, k.typ)
	dst.PutStr(schema.AttrScorerName, k.name)
	putCommon(dst, k.model, k.profile, k.method)
}

// putCommon writes the attributes both families share.
func putCommon(dst pcommon.Map, model, profile string, method uint8) {
	if model != "" {
		dst.PutStr(schema.AttrRequestModel, model)
	}
	if profile != "" {
		dst.PutStr(schema.AttrProfileName, profile)
	}
	switch method {
	case methodCounted:
		dst.PutStr(schema.AttrSamplingMethod, schema.SamplingMethodCounted)
	case methodExtrapolated:
		dst.PutStr(schema.AttrSamplingMethod, schema.SamplingMethodExtrapolated)
	}
}

// putAttributes writes a scoring series' data point attributes.
func (k *chainKey) putAttributes(dst pcommon.Map) {
	if k.overflowing {
		dst.PutBool(schema.AttrMetricOverflow, true)
		return
	}
	putCommon(dst, k.model, k.profile, k.method)
}

func (a *aggregator) describe(m pmetric.Metric, i int) {
	d := &metricDescs[i]
	m.SetName(d.name)
	m.SetDescription(d.description)
	m.SetUnit(d.unit)
	switch {
	case d.kind == kindCounter:
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(a.temporality)
	case d.kind == kindDuration && a.expoMax > 0:
		m.SetEmptyExponentialHistogram().SetAggregationTemporality(a.temporality)
	default:
		m.SetEmptyHistogram().SetAggregationTemporality(a.temporality)
	}
}

func (a *aggregator) durationCount(h *durationHist) uint64 {
	if a.expoMax > 0 {
		return h.expo.count
	}
	return h.explicit.count
}

func (a *aggregator) emitDuration(m pmetric.Metric, h *durationHist, ex *exemplarRing, start, ts pcommon.Timestamp, attrs func(pcommon.Map)) {
	if a.expoMax == 0 {
		emitExplicit(m, &h.explicit, a.bounds, ex, start, ts, attrs)
		return
	}
	e := &h.expo
	dp := m.ExponentialHistogram().DataPoints().AppendEmpty()
	attrs(dp.Attributes())
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(ts)
	dp.SetCount(e.count)
	dp.SetSum(e.sum)
	if e.count > 0 {
		dp.SetMin(e.min)
		dp.SetMax(e.max)
	}
	dp.SetScale(e.scale)
	dp.SetZeroCount(e.zero)
	dp.Positive().SetOffset(e.offset)
	dp.Positive().BucketCounts().FromRaw(e.counts)
	emitExemplars(dp.Exemplars(), ex)
}

func emitExplicit(m pmetric.Metric, h *explicitHist, bounds []float64, ex *exemplarRing, start, ts pcommon.Timestamp, attrs func(pcommon.Map)) {
	dp := m.Histogram().DataPoints().AppendEmpty()
	attrs(dp.Attributes())
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(ts)
	dp.SetCount(h.count)
	dp.SetSum(h.sum)
	if h.count > 0 {
		dp.SetMin(h.min)
		dp.SetMax(h.max)
	}
	dp.ExplicitBounds().FromRaw(bounds)
	dp.BucketCounts().FromRaw(h.counts)
	if ex != nil {
		emitExemplars(dp.Exemplars(), ex)
	}
}

func emitExemplars(dst pmetric.ExemplarSlice, ex *exemplarRing) {
	for _, e := range ex.buf {
		x := dst.AppendEmpty()
		x.SetDoubleValue(e.value)
		x.SetTimestamp(pcommon.Timestamp(e.ts))
		x.SetTraceID(e.trace)
		x.SetSpanID(e.span)
	}
}

func emitSum(m pmetric.Metric, v uint64, start, ts pcommon.Timestamp, attrs func(pcommon.Map)) {
	dp := m.Sum().DataPoints().AppendEmpty()
	attrs(dp.Attributes())
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(ts)
	dp.SetIntValue(int64(v))
}
