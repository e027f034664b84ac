package instrument

import (
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

var (
	keyScorerDecisive = attribute.Key(schema.AttrScorerDecisive)
	keyScoringMargin  = attribute.Key(schema.AttrScoringMargin)
	keyScoringTied    = attribute.Key(schema.AttrScoringTied)
)

// decision gathers, for one recorded chain, what the decision signals
// (schema.AttrScorerDecisive, schema.AttrScoringMargin,
// schema.AttrScoringTied) are computed from: each scorer's weighted
// contribution to each candidate, by candidate position. The spans of the
// scorers that contributed stay open until the chain ends, because whether
// a scorer was decisive is known only once every scorer has scored; they
// end with the time their scorer returned. It is recycled through the
// Tracer, so a warm tracer allocates nothing for it.
type decision struct {
	scorers, n int // as declared to StartChain
	req        Request
	// incomplete: a scorer ended without its scores by position (End,
	// EndMap, Score) or with another number of candidates; no signal is
	// set then.
	incomplete bool
	weightSum  float64
	contrib    []float64 // row r (the r-th scorer to end): n contributions
	totals     []float64
	without    []float64
	pending    []pendingScorer
}

// pendingScorer is a scorer span whose attributes and end wait for the
// chain's decision.
type pendingScorer struct {
	span       trace.Span
	scorer     *Scorer
	stats      Stats
	candidates int
	decisive   bool
	end        [1]trace.SpanEndOption // the time the scorer returned
}

func (d *decision) reset(scorers, n int) {
	d.scorers, d.n, d.incomplete, d.weightSum = scorers, n, false, 0
	d.contrib = grow(d.contrib, scorers*n)
	d.totals = grow(d.totals, n)
	d.without = grow(d.without, n)
	d.pending = d.pending[:0]
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// row returns the contribution row of the next scorer to end, or nil when
// the chain cannot take one (more scorers than declared, another number of
// candidates): the chain is then incomplete.
func (d *decision) row(candidates int) []float64 {
	r := len(d.pending)
	if d.incomplete || r >= d.scorers || candidates != d.n {
		d.incomplete = true
		return nil
	}
	return d.contrib[r*d.n : (r+1)*d.n]
}

// hold keeps a scorer's span open with its statistics until the chain
// ends; row must be the one row returned.
func (d *decision) hold(span trace.Span, s *Scorer, st Stats, candidates int) {
	d.weightSum += s.weight
	d.pending = append(d.pending, pendingScorer{span: span, scorer: s, stats: st, candidates: candidates,
		end: [1]trace.SpanEndOption{trace.WithTimestamp(time.Now())}})
}

// contribution is what the framework adds to a candidate's total for a raw
// score v: clamp01(v)·weight, nothing for no score (NaN).
func contribution(v, weight float64) float64 {
	switch {
	case v != v:
		return 0
	case v < 0:
		return 0
	case v > 1:
		return weight
	}
	return v * weight
}

// finish computes the signals when the chain is complete, sets them and
// ends the held scorer spans, then sets the chain's attributes on chain,
// with its signals.
func (d *decision) finish(chain trace.Span, st *state) {
	complete := !d.incomplete && len(d.pending) == d.scorers && d.n > 0
	var tied int
	var margin float64
	hasMargin := false
	if complete {
		tied, margin, hasMargin = d.decide()
		complete = tied > 0
	}
	for i := range d.pending {
		p := &d.pending[i]
		a := append(append(st.attrs[:0], p.scorer.static[:]...), keyScorerCandidates.Int(p.candidates))
		a = p.stats.appendTo(a)
		if complete {
			a = append(a, keyScorerDecisive.Bool(p.decisive))
		}
		p.span.SetAttributes(a...)
		p.span.End(p.end[:]...)
		*p = pendingScorer{}
	}
	d.pending = d.pending[:0]
	a := append(st.attrs[:0], keyScorerCount.Int(d.scorers), keyScoringCandidates.Int(d.n))
	a = d.req.appendTo(a)
	if complete {
		a = append(a, keyScoringTied.Int(tied))
		if hasMargin {
			a = append(a, keyScoringMargin.Float64(margin))
		}
	}
	chain.SetAttributes(a...)
	d.req = Request{}
}

// decide computes the signals as schema.AttrScorerDecisive and its
// neighbours define them, setting each pending scorer's decisive flag:
// the top set A of the totals (summed in scorer order, as the caller's
// totals are), its size, the normalized margin to the best total outside
// it, and, per scorer, whether the top set without that scorer's
// contributions differs from A. tied is 0 when no total is a number.
func (d *decision) decide() (tied int, margin float64, hasMargin bool) {
	n := d.n
	for e := range n {
		d.totals[e] = d.sumWithout(e, -1)
	}
	best, tied := top(d.totals)
	if tied == 0 {
		return 0, 0, false
	}
	if n >= 2 && d.weightSum > 0 && !math.IsInf(d.weightSum, 0) {
		hasMargin = true
		if tied == 1 {
			second := math.Inf(-1)
			for _, v := range d.totals {
				if v != best && v > second {
					second = v
				}
			}
			if !math.IsInf(second, -1) {
				margin = (best - second) / d.weightSum
			}
		}
	}
	if n == 1 {
		return tied, margin, hasMargin // nothing to pick instead: no scorer is decisive
	}
	for i := range d.pending {
		for e := range n {
			d.without[e] = d.sumWithout(e, i)
		}
		bestWithout, _ := top(d.without)
		decisive := false
		for e := range n {
			if (d.without[e] == bestWithout) != (d.totals[e] == best) {
				decisive = true
				break
			}
		}
		d.pending[i].decisive = decisive
	}
	return tied, margin, hasMargin
}

// sumWithout is candidate e's total without scorer row skip (-1: none), in
// scorer order.
func (d *decision) sumWithout(e, skip int) float64 {
	var t float64
	for r := range d.pending {
		if r != skip {
			t += d.contrib[r*d.n+e]
		}
	}
	return t
}

// top returns the largest value (NaN skipped) and how many values equal it.
func top(v []float64) (best float64, count int) {
	best = math.Inf(-1)
	for _, x := range v {
		switch {
		case x > best:
			best, count = x, 1
		case x == best:
			count++
		}
	}
	return best, count
}
