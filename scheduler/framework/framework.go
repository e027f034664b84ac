// Package framework defines the shapes of an EPP-style scheduler: plugins
// (filters, scorers, pickers, profile handlers), the request being scheduled
// and the endpoints it can go to.
//
// The shapes follow upstream llm-d EPP (pkg/epp/framework/interface)
// closely, for an EPP that starts from this framework. An EPP with a
// framework of its own does not adapt to these types: it calls package
// instrument from its own scorer loop (docs/adopting.md). The one deliberate
// difference is the scorer: upstream returns a fresh map[Endpoint]float64
// per call; ours writes into a caller-owned slice aligned with the
// candidates, which removes a map allocation and hashing per scorer per
// request. MapScorer and AdaptMapScorer keep upstream-shaped scorers usable.
package framework

import (
	"context"
	"math"
)

// TypedName identifies a plugin instance: its type (what it does, e.g.
// "queue-scorer") and its name (which configured instance; a type can be
// configured more than once under different names).
type TypedName struct {
	Type string
	Name string
}

// NewTypedName returns the identity of a plugin instance of type typ. An
// empty name defaults to the type, so that an instance configured without a
// name still renders as "<type>/<type>", as upstream's do.
func NewTypedName(typ, name string) TypedName {
	if name == "" {
		name = typ
	}
	return TypedName{Type: typ, Name: name}
}

// String renders the name as upstream does: "<name>/<type>".
func (t TypedName) String() string { return t.Name + "/" + t.Type }

// Plugin is implemented by every filter, scorer, picker and profile handler.
type Plugin interface {
	TypedName() TypedName
}

// Filter narrows the candidate endpoints of a request. It returns the
// endpoints that pass, which may alias the input slice's backing array
// (filters may filter in place). It must not keep the slice after it returns.
type Filter interface {
	Plugin
	Filter(ctx context.Context, req *InferenceRequest, endpoints []Endpoint) []Endpoint
}

// ScorerCategory says what kind of signal a scorer contributes.
type ScorerCategory int

// Scorer categories, as upstream.
const (
	Affinity ScorerCategory = iota
	Distribution
	Balance
)

// String returns the category's name.
func (c ScorerCategory) String() string {
	switch c {
	case Affinity:
		return "Affinity"
	case Distribution:
		return "Distribution"
	case Balance:
		return "Balance"
	}
	return "Unknown"
}

// Scorer scores candidate endpoints for a request.
//
// Score writes the score of endpoints[i] into scores[i]; len(scores) ==
// len(endpoints). On entry every element of scores is NaN, meaning "no
// score"; an endpoint the scorer leaves at NaN contributes nothing, like an
// endpoint missing from upstream's returned map. Scores belong in [0,1];
// the framework clamps what is outside. Score must not keep either slice.
type Scorer interface {
	Plugin
	Category() ScorerCategory
	Score(ctx context.Context, req *InferenceRequest, endpoints []Endpoint, scores []float64)
}

// NoScore is the value a Scorer leaves for an endpoint it does not score.
var NoScore = math.NaN()

// Scored reports whether a score slot holds a score (is not NoScore).
func Scored(v float64) bool { return v == v } // NaN is the only value not equal to itself

// Clamp01 bounds v to [0,1]: above 1 (+Inf included) counts as 1, below 0
// (-Inf included) as 0. It is what the framework applies to every score
// before weighting; scorers use it on fractions read from metrics. NaN is
// returned as is: callers check Scored first.
func Clamp01(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// MapScorer is upstream's scorer shape: a fresh map from endpoint to score.
type MapScorer interface {
	Plugin
	Category() ScorerCategory
	Score(ctx context.Context, req *InferenceRequest, endpoints []Endpoint) map[Endpoint]float64
}

// AdaptMapScorer wraps an upstream-shaped scorer as a Scorer. Endpoints
// missing from the returned map keep NoScore. A scorer that also learns
// from the pick (PreRequest, as upstream's prefix scorer does) stays one
// through the adapter, so the scheduler still calls it.
func AdaptMapScorer(s MapScorer) Scorer {
	if pr, ok := s.(PreRequest); ok {
		return mapPreRequestScorer{mapScorer{s}, pr}
	}
	return mapScorer{s}
}

type mapScorer struct{ MapScorer }

type mapPreRequestScorer struct {
	mapScorer
	pr PreRequest
}

// PreRequest implements PreRequest by calling the wrapped scorer's.
func (m mapPreRequestScorer) PreRequest(ctx context.Context, req *InferenceRequest, result *SchedulingResult) {
	m.pr.PreRequest(ctx, req, result)
}

// Score implements Scorer by copying the wrapped scorer's map into scores.
func (m mapScorer) Score(ctx context.Context, req *InferenceRequest, endpoints []Endpoint, scores []float64) {
	got := m.MapScorer.Score(ctx, req, endpoints)
	if len(got) == 0 {
		return
	}
	for i, ep := range endpoints {
		if v, ok := got[ep]; ok {
			scores[i] = v
		}
	}
}

// ScoredEndpoint is an endpoint with its weighted total score.
type ScoredEndpoint struct {
	Endpoint
	Score float64
}

// Picker chooses the target endpoints among the scored candidates. It must
// not keep the slice after it returns.
type Picker interface {
	Plugin
	Pick(ctx context.Context, scored []*ScoredEndpoint) *ProfileRunResult
}

// ProfileRunResult is what one profile picked.
type ProfileRunResult struct {
	TargetEndpoints []Endpoint
}

// SchedulingResult is the outcome of Scheduler.Schedule: every profile's
// result and which one is primary.
type SchedulingResult struct {
	ProfileResults     map[string]*ProfileRunResult
	PrimaryProfileName string
}

// Profile is what a ProfileHandler chooses among: a named scheduler profile.
// The root package's *Profile implements it.
type Profile interface {
	Run(ctx context.Context, req *InferenceRequest, candidates []Endpoint) (*ProfileRunResult, error)
}

// ProfileHandler decides which profiles run for a request, possibly over
// several rounds, and combines their results.
type ProfileHandler interface {
	Plugin
	// Pick returns the profiles to run next, given the results so far; an
	// empty map ends the scheduling cycle.
	Pick(ctx context.Context, req *InferenceRequest, profiles map[string]Profile, results map[string]*ProfileRunResult) map[string]Profile
	// ProcessResults turns the profiles' results into the scheduling result.
	ProcessResults(ctx context.Context, req *InferenceRequest, results map[string]*ProfileRunResult) (*SchedulingResult, error)
}

// PreRequest is implemented by plugins that learn from the final pick (the
// prefix-cache scorer records which blocks the chosen endpoint now holds).
// Scheduler.Schedule calls it once per request after the result is known.
type PreRequest interface {
	Plugin
	PreRequest(ctx context.Context, req *InferenceRequest, result *SchedulingResult)
}

// ResponseHeader is implemented by plugins that write headers on the
// response to the client once the request is scheduled (upstream's
// ResponseHeader extension point): the session-affinity scorer issues its
// session token there. Scheduler.ResponseHeaders calls them.
type ResponseHeader interface {
	Plugin
	ResponseHeader(ctx context.Context, req *InferenceRequest, result *SchedulingResult, headers map[string]string)
}
