package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/instrument"
)

// Profile is a scheduler profile: filters, then a chain of weighted
// scorers, then a picker. It implements framework.Profile and is safe for
// concurrent use.
type Profile struct {
	name    string
	filters []framework.Filter
	scorers []*WeightedScorer
	picker  framework.Picker
	cfg     config
	// tracer makes the profile's spans; nil on the WithoutTracing path.
	tracer *instrument.Tracer
	// preRequest are the profile's plugins that implement
	// framework.PreRequest, each once, collected at construction.
	preRequest []framework.PreRequest
	// responseHeader are the profile's plugins that implement
	// framework.ResponseHeader, each once.
	responseHeader []framework.ResponseHeader
	// states recycles per-Run buffers so that Run allocates nothing of
	// its own once warm.
	states sync.Pool
}

var _ framework.Profile = (*Profile)(nil)

// NewProfile builds a profile. filters may be empty; scorers may be empty
// (the picker then sees every endpoint at score 0; the scoring span is
// emitted all the same, as upstream); picker is required. Two scorers with the same type and name are
// rejected: their spans could not be told apart. Without an Option the
// scoring spans come from the OTel global provider.
func NewProfile(name string, filters []framework.Filter, scorers []*WeightedScorer, picker framework.Picker, opts ...Option) (*Profile, error) {
	return newProfile(name, filters, scorers, picker, config{}.with(opts))
}

func newProfile(name string, filters []framework.Filter, scorers []*WeightedScorer, picker framework.Picker, cfg config) (*Profile, error) {
	if name == "" {
		return nil, errors.New("profile: empty name")
	}
	if picker == nil {
		return nil, fmt.Errorf("profile %q: nil picker", name)
	}
	var plugins []framework.Plugin
	for i, f := range filters {
		if f == nil {
			return nil, fmt.Errorf("profile %q: filter %d is nil", name, i)
		}
		plugins = append(plugins, f)
	}
	seen := make(map[framework.TypedName]bool, len(scorers))
	for i, s := range scorers {
		if s == nil {
			return nil, fmt.Errorf("profile %q: scorer %d is nil", name, i)
		}
		if seen[s.name] {
			return nil, fmt.Errorf("profile %q: scorer %s configured twice: give each a distinct name", name, s.name)
		}
		seen[s.name] = true
		plugins = append(plugins, s.scorer)
	}
	plugins = append(plugins, picker)
	p := &Profile{
		name:       name,
		filters:    append([]framework.Filter(nil), filters...),
		scorers:    append([]*WeightedScorer(nil), scorers...),
		picker:     picker,
		cfg:        cfg,
		tracer:     newTracer(cfg),
		preRequest: preRequestPlugins(nil, plugins),
	}
	for _, pl := range plugins {
		if rh, ok := pl.(framework.ResponseHeader); ok && !containsPlugin(p.responseHeader, rh) {
			p.responseHeader = append(p.responseHeader, rh)
		}
	}
	p.states.New = func() any { return new(runState) }
	return p, nil
}

// Name returns the profile's name.
func (p *Profile) Name() string { return p.name }

// Run filters the candidates, scores them through the weighted scorer
// chain and lets the picker choose. The candidates slice is not modified
// (filters work on a copy). It errors when no endpoint is left to pick
// from or the picker returns no result.
//
// Targets the picker returns as *framework.ScoredEndpoint pointing into
// the slice it was given are replaced by the endpoint they wrap: that
// slice is recycled by the next Run.
func (p *Profile) Run(ctx context.Context, req *framework.InferenceRequest, candidates []framework.Endpoint) (*framework.ProfileRunResult, error) {
	if req == nil {
		return nil, fmt.Errorf("profile %q: nil request", p.name)
	}
	st := p.states.Get().(*runState)
	defer p.release(st)
	// The profile's span, as upstream's scheduler opens it around a
	// profile's run: it decides, once, whether the profile's spans record.
	ctx, ps := p.tracer.StartProfile(ctx, p.name)
	defer ps.End()
	ra := instrument.Request{Model: req.TargetModel, ID: req.RequestID}

	endpoints := candidates
	fctx, fs := ps.StartFilter(ctx, ra, len(candidates))
	if len(p.filters) > 0 {
		st.endpoints = append(st.endpoints[:0], candidates...)
		endpoints = st.endpoints
		for _, f := range p.filters {
			if endpoints = f.Filter(fctx, req, endpoints); len(endpoints) == 0 {
				fs.End(0)
				return nil, fmt.Errorf("profile %q: filter %s left no endpoints", p.name, f.TypedName())
			}
		}
	}
	fs.End(len(endpoints))
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("profile %q: no candidate endpoints", p.name)
	}

	scores, totals := st.size(len(endpoints))
	if ps.Recording() {
		p.scoreTraced(ctx, ps, req, ra, endpoints, scores, totals)
	} else {
		p.score(ctx, req, endpoints, scores, totals)
	}

	scored := st.scored[:len(endpoints)]
	ptrs := st.ptrs[:len(endpoints)]
	for i, ep := range endpoints {
		scored[i] = framework.ScoredEndpoint{Endpoint: ep, Score: totals[i]}
		ptrs[i] = &scored[i]
	}
	pctx, pick := ps.StartPick(ctx, ra, totals)
	res := p.picker.Pick(pctx, ptrs)
	pick.End()
	if res == nil {
		return nil, fmt.Errorf("profile %q: picker %s returned no result", p.name, p.picker.TypedName())
	}
	detach(res.TargetEndpoints, scored)
	return res, nil
}

// score runs the scorer chain with no tracing call: the WithoutTracing
// path, and the path of every Run whose scoring span does not record.
func (p *Profile) score(ctx context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores, totals []float64) {
	for _, ws := range p.scorers {
		ws.score(ctx, req, endpoints, scores, totals)
	}
}

// detach replaces targets that point into the recycled buffer by the
// endpoint they wrap. Pickers return one or a few targets, so the scan is
// short.
func detach(targets []framework.Endpoint, buf []framework.ScoredEndpoint) {
	for i, t := range targets {
		se, ok := t.(*framework.ScoredEndpoint)
		if !ok {
			continue
		}
		for j := range buf {
			if se == &buf[j] {
				targets[i] = se.Endpoint
				break
			}
		}
	}
}

// runState holds one Run's buffers.
type runState struct {
	endpoints []framework.Endpoint
	scores    []float64
	totals    []float64
	scored    []framework.ScoredEndpoint
	ptrs      []*framework.ScoredEndpoint
	// n is how many entries of scored and ptrs the last Run used.
	n int
}

// size readies the buffers for n endpoints and returns the score scratch
// and the zeroed totals.
func (st *runState) size(n int) (scores, totals []float64) {
	if cap(st.scores) < n {
		st.scores = make([]float64, n)
		st.totals = make([]float64, n)
		st.scored = make([]framework.ScoredEndpoint, n)
		st.ptrs = make([]*framework.ScoredEndpoint, n)
	}
	st.n = n
	totals = st.totals[:n]
	clear(totals)
	return st.scores[:n], totals
}

// release drops the endpoints the buffers still reference, so the pool
// does not keep a departed fleet alive, and recycles st. (ptrs only point
// into scored.)
func (p *Profile) release(st *runState) {
	clear(st.endpoints)
	clear(st.scored[:st.n])
	st.endpoints, st.n = st.endpoints[:0], 0
	p.states.Put(st)
}

// preRequestPlugins appends to dst each plugin that implements
// framework.PreRequest and is not in dst yet.
func preRequestPlugins(dst []framework.PreRequest, plugins []framework.Plugin) []framework.PreRequest {
	for _, pl := range plugins {
		pr, ok := pl.(framework.PreRequest)
		if !ok {
			continue
		}
		dup := false
		for _, have := range dst {
			if samePlugin(have, pr) {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, pr)
		}
	}
	return dst
}

// containsPlugin tells whether pl is in list.
func containsPlugin[P framework.Plugin](list []P, pl P) bool {
	for _, have := range list {
		if samePlugin(have, pl) {
			return true
		}
	}
	return false
}
