package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler"
	"github.com/scorelens/scorelens/scheduler/cmd/eppsim/internal/fleet"
	"github.com/scorelens/scorelens/scheduler/cmd/eppsim/internal/workload"
	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/plugins/filter"
	"github.com/scorelens/scorelens/scheduler/plugins/picker"
	"github.com/scorelens/scorelens/scheduler/plugins/profilehandler"
	"github.com/scorelens/scorelens/scheduler/plugins/scorer"
	"github.com/scorelens/scorelens/scheduler/schema"
)

const (
	// spanGatewayRequest is the request's root span, as upstream's gateway
	// names it: the scoring span sits in the trace of a request.
	spanGatewayRequest = "gateway.request"
	// tracerScope is eppsim's instrumentation scope.
	tracerScope = "github.com/scorelens/scorelens/scheduler/cmd/eppsim"
	// namespace is the simulated pods' namespace.
	namespace = "llm-d"
	// profileName is the scheduler's only profile (without -disagg).
	profileName = "default"
	// disaggNonCachedBytes is the prefix-based decider's threshold with
	// -disagg: a request whose prompt the decode endpoint does not cache
	// for at least this many bytes (about 256 tokens) gets a prefill.
	disaggNonCachedBytes = 1024
	// lowQueueThreshold is the low-queue filter's waiting-queue bound.
	lowQueueThreshold = 128
	// loadAwareThreshold is the load-aware scorer's queue saturation point.
	loadAwareThreshold = 128
	// arrivalsPerEndpoint is the simulated arrival rate per endpoint: about
	// two thirds of what the default servers sustain. It does not follow
	// -rate, which paces wall time only: at any -rate the fleet is equally
	// busy and a seed gives the same picks.
	arrivalsPerEndpoint = 4.0
	// scrapeInterval is how stale the metrics the scheduler reads are (the
	// EPP's default metrics refresh).
	scrapeInterval = 50 * time.Millisecond
	// maxLatencySamples bounds the memory of an unlimited run: beyond it the
	// latencies are a uniform reservoir sample.
	maxLatencySamples = 1 << 20
)

// newFleet builds the workload for cfg and a fleet sized for it: each
// model family gets endpoints in proportion to its expected traffic, at
// least one each (families beyond the endpoint count are left out). It is
// deterministic in cfg.
func newFleet(cfg config) (*fleet.Fleet, *workload.Generator, error) {
	families := workload.Catalog()
	if len(families) > cfg.endpoints {
		families = families[:cfg.endpoints]
	}
	gen, err := workload.New(workload.DefaultConfig(cfg.seed, workload.Targets(families)))
	if err != nil {
		return nil, nil, fmt.Errorf("workload: %w", err)
	}
	traffic := gen.Traffic()
	shares := make([]float64, len(families))
	for i, f := range families {
		shares[i] = traffic[f.BaseModel]
	}
	pools := make([]fleet.Pool, len(families))
	for i, n := range apportion(cfg.endpoints, shares) {
		pools[i] = fleet.Pool{Deployment: families[i].Deployment, BaseModel: families[i].BaseModel, Replicas: n}
	}
	fl, err := fleet.New(fleet.Config{
		Namespace:      namespace,
		Pools:          pools,
		Server:         fleet.DefaultServerConfig(),
		ScrapeInterval: scrapeInterval,
		Seed:           cfg.seed,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("fleet: %w", err)
	}
	return fl, gen, nil
}

// apportion splits n (at least len(shares)) into parts proportional to
// shares, each at least 1: floors first, then the largest remainders.
func apportion(n int, shares []float64) []int {
	var total float64
	for _, s := range shares {
		total += s
	}
	parts := make([]int, len(shares))
	rem := make([]float64, len(shares))
	given := 0
	for i, s := range shares {
		exact := float64(n) * s / total
		parts[i] = max(1, int(exact))
		rem[i] = exact - float64(parts[i])
		given += parts[i]
	}
	for ; given < n; given++ {
		i := argmax(rem)
		parts[i]++
		rem[i] = math.Inf(-1)
	}
	for ; given > n; given-- { // the floor of 1 took too much: the biggest give back
		big := argmax(parts)
		parts[big]--
	}
	return parts
}

func argmax[T int | float64](xs []T) int {
	best := 0
	for i := range xs {
		if xs[i] > xs[best] {
			best = i
		}
	}
	return best
}

// newScorers is the profile's scorer chain: prefix affinity first and
// heaviest, as llm-d's default profiles weigh it.
func newScorers() ([]*scheduler.WeightedScorer, error) {
	prefix, err := scorer.NewPrefixCache("", scorer.DefaultPrefixCacheConfig())
	if err != nil {
		return nil, err
	}
	chain := []struct {
		s framework.Scorer
		w float64
	}{
		{prefix, 3},
		{scorer.NewKVCacheUtilization(""), 1},
		{scorer.NewQueue(""), 1},
		{scorer.NewLoRAAffinity(""), 1},
		{scorer.NewLoadAware("", loadAwareThreshold), 1},
		{scorer.NewSessionAffinity("", scorer.DefaultSessionHeader), 1},
	}
	out := make([]*scheduler.WeightedScorer, 0, len(chain))
	for _, c := range chain {
		ws, err := scheduler.NewWeightedScorer(c.s, c.w)
		if err != nil {
			return nil, err
		}
		out = append(out, ws)
	}
	return out, nil
}

func newScheduler(cfg config, tp trace.TracerProvider) (*scheduler.Scheduler, error) {
	if cfg.disagg {
		return newDisaggScheduler(cfg.seed, tp)
	}
	seed := cfg.seed
	scorers, err := newScorers()
	if err != nil {
		return nil, fmt.Errorf("scorers: %w", err)
	}
	profile, err := scheduler.NewProfile(profileName,
		[]framework.Filter{filter.NewLowQueue("", lowQueueThreshold)},
		scorers,
		picker.NewMaxScore("", picker.WithSeed(seed)),
		scheduler.WithTracerProvider(tp),
	)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	s, err := scheduler.New(profilehandler.NewSingle(""), map[string]*scheduler.Profile{profileName: profile})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return s, nil
}

// simulation drives requests from the workload through the scheduler into
// the fleet, one at a time, in simulated time.
type simulation struct {
	cfg      config
	fleet    *fleet.Fleet
	gen      *workload.Generator
	sched    *scheduler.Scheduler
	tracer   trace.Tracer
	arrivals *rand.Rand
	sampler  *rand.Rand    // latency reservoir
	meanGap  time.Duration // mean simulated time between arrivals

	// sessions maps a session to the token naming the endpoint that served
	// it last, which the gateway would have returned to the client.
	sessions   map[string]string
	candidates []framework.Endpoint
	index      map[framework.Endpoint]int

	stats runStats
}

// runStats is what the summary reports.
type runStats struct {
	requests, failed int
	picks            []int // by fleet endpoint index
	latencies        []time.Duration
	seen             int // latencies observed, for the reservoir
	firstErr         error
	// profiles counts, by profile name, the requests each profile ran for
	// and how many of those were sampled: the truth per profile, which the
	// spans cannot tell (a scheduler names the profile on recording spans
	// only).
	profiles  map[string]*profileRuns
	wall      time.Duration
	simulated time.Duration
}

// profileRuns counts one profile's runs.
type profileRuns struct{ runs, sampled uint64 }

// profileRun counts a run of the named profile.
func (st *runStats) profileRun(name string, sampled bool) {
	if st.profiles == nil {
		st.profiles = map[string]*profileRuns{}
	}
	n := st.profiles[name]
	if n == nil {
		n = &profileRuns{}
		st.profiles[name] = n
	}
	n.runs++
	if sampled {
		n.sampled++
	}
}

func newSimulation(cfg config, tp trace.TracerProvider) (*simulation, error) {
	fl, gen, err := newFleet(cfg)
	if err != nil {
		return nil, err
	}
	sched, err := newScheduler(cfg, tp)
	if err != nil {
		return nil, err
	}
	rate := arrivalsPerEndpoint * float64(cfg.endpoints)
	sim := &simulation{
		cfg:      cfg,
		fleet:    fl,
		gen:      gen,
		sched:    sched,
		tracer:   tp.Tracer(tracerScope),
		arrivals: rand.New(rand.NewPCG(cfg.seed, 0xda942042e4dd58b5)),
		sampler:  rand.New(rand.NewPCG(cfg.seed, 0x2545f4914f6cdd1d)),
		meanGap:  time.Duration(float64(time.Second) / rate),
		sessions: map[string]string{},
		index:    map[framework.Endpoint]int{},
	}
	for i, ep := range fl.Endpoints() {
		sim.index[ep] = i
	}
	if cfg.disagg {
		assignRoles(fl.Endpoints())
	}
	sim.stats.picks = make([]int, len(fl.Endpoints()))
	return sim, nil
}

// run schedules requests until cfg.requests are done or ctx ends (the
// duration limit or a signal), paced in wall time at cfg.rate.
func (s *simulation) run(ctx context.Context) {
	start := time.Now()
	var pace *time.Timer
	if s.cfg.rate > 0 {
		pace = time.NewTimer(0)
		defer pace.Stop()
	}
	var now time.Duration
	for i := 0; s.cfg.requests == 0 || i < s.cfg.requests; i++ {
		if pace != nil {
			due := start.Add(time.Duration(float64(i) / s.cfg.rate * float64(time.Second)))
			pace.Reset(time.Until(due))
			select {
			case <-ctx.Done():
			case <-pace.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		// Poisson arrivals in simulated time, independent of the wall clock,
		// so that a seed always yields the same run.
		// (faster during the workload's surges).
		now += time.Duration(s.arrivals.ExpFloat64() * float64(s.meanGap) / s.gen.Intensity())
		s.fleet.Advance(now)
		s.step(ctx)
	}
	s.stats.wall = time.Since(start)
	s.stats.simulated = now
}

// step schedules one request inside its root span and routes it.
func (s *simulation) step(ctx context.Context) {
	r := s.gen.Next()
	defer func() {
		for _, id := range r.Ended {
			delete(s.sessions, id)
		}
	}()
	req := &framework.InferenceRequest{
		RequestID:   r.ID,
		TargetModel: r.Model,
		Prompt:      r.Prompt,
		Headers:     map[string]string{"x-request-id": r.ID},
	}
	if token, ok := s.sessions[r.SessionID]; ok {
		req.Headers[scorer.DefaultSessionHeader] = token
	}
	s.candidates = append(s.candidates[:0], s.fleet.Candidates(r.BaseModel)...)

	// Request-level attributes only: the picked endpoint stays off the span.
	ctx, span := s.tracer.Start(ctx, spanGatewayRequest,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String(schema.AttrRequestModel, r.Model)))
	defer span.End()

	began := time.Now()
	res, err := s.sched.Schedule(ctx, req, s.candidates)
	s.observe(time.Since(began))
	s.stats.requests++
	if res != nil {
		sampled := span.SpanContext().IsSampled()
		for name := range res.ProfileResults {
			s.stats.profileRun(name, sampled)
		}
	}

	target, err := primaryTarget(res, err)
	if err != nil {
		s.stats.failed++
		if s.stats.firstErr == nil {
			s.stats.firstErr = err
		}
		// The error text is not put on the span: scheduler errors may name
		// endpoints, and this span must not.
		span.SetStatus(codes.Error, "scheduling failed")
		return
	}
	s.stats.picks[s.index[target]]++
	// The response carries the session token the session scorer issues.
	headers := map[string]string{}
	s.sched.ResponseHeaders(ctx, req, res, headers)
	if token, ok := headers[scorer.DefaultSessionHeader]; ok {
		s.sessions[r.SessionID] = token
	}
	job := fleet.Job{
		Adapter:      r.Adapter,
		PromptTokens: fleet.Tokens(r.Prompt),
		OutputTokens: r.OutputTokens,
		Blocks:       fleet.BlockHashes(nil, r.Prompt),
	}
	// A full queue sheds the request, as a gateway would; the fleet counts it.
	if err := s.fleet.Route(target, job); err != nil && !errors.Is(err, fleet.ErrQueueFull) {
		s.stats.failed++
		if s.stats.firstErr == nil {
			s.stats.firstErr = err
		}
	}
}

func primaryTarget(res *framework.SchedulingResult, err error) (framework.Endpoint, error) {
	if err != nil {
		return nil, err
	}
	pr := res.ProfileResults[res.PrimaryProfileName]
	if pr == nil || len(pr.TargetEndpoints) == 0 {
		return nil, fmt.Errorf("profile %q picked no endpoint", res.PrimaryProfileName)
	}
	return pr.TargetEndpoints[0], nil
}

// observe records a scheduling latency, keeping at most maxLatencySamples
// as a uniform sample (reservoir sampling).
func (s *simulation) observe(d time.Duration) {
	st := &s.stats
	st.seen++
	if len(st.latencies) < maxLatencySamples {
		st.latencies = append(st.latencies, d)
		return
	}
	if j := s.sampler.IntN(st.seen); j < maxLatencySamples {
		st.latencies[j] = d
	}
}

// newDisaggScheduler is a prefill/decode deployment, as llm-d's guides
// configure it: a decode profile (decode endpoints; prefix affinity,
// load, KV cache, LoRA and session affinity) run first, then, when the
// prefix-based decider finds enough of the prompt uncached on the decode
// endpoint, a prefill profile (prefill endpoints; prefix affinity, queue,
// KV cache). One prefix-cache scorer serves both, so the decider reads what
// the decode profile's scorer knows.
func newDisaggScheduler(seed uint64, tp trace.TracerProvider) (*scheduler.Scheduler, error) {
	prefix, err := scorer.NewPrefixCache("", scorer.DefaultPrefixCacheConfig())
	if err != nil {
		return nil, fmt.Errorf("scorers: %w", err)
	}
	weigh := func(chain []struct {
		s framework.Scorer
		w float64
	}) ([]*scheduler.WeightedScorer, error) {
		out := make([]*scheduler.WeightedScorer, 0, len(chain))
		for _, c := range chain {
			ws, err := scheduler.NewWeightedScorer(c.s, c.w)
			if err != nil {
				return nil, fmt.Errorf("scorers: %w", err)
			}
			out = append(out, ws)
		}
		return out, nil
	}
	decodeScorers, err := weigh([]struct {
		s framework.Scorer
		w float64
	}{
		{prefix, 2},
		{scorer.NewLoadAware("", loadAwareThreshold), 1},
		{scorer.NewKVCacheUtilization(""), 1},
		{scorer.NewLoRAAffinity(""), 1},
		{scorer.NewSessionAffinity("", scorer.DefaultSessionHeader), 1},
	})
	if err != nil {
		return nil, err
	}
	prefillScorers, err := weigh([]struct {
		s framework.Scorer
		w float64
	}{
		{prefix, 2},
		{scorer.NewQueue(""), 1},
		{scorer.NewKVCacheUtilization(""), 1},
	})
	if err != nil {
		return nil, err
	}
	decode, err := scheduler.NewProfile(profilehandler.DefaultDecodeProfile,
		[]framework.Filter{filter.NewDecodeRole(""), filter.NewLowQueue("", lowQueueThreshold)},
		decodeScorers, picker.NewMaxScore("", picker.WithSeed(seed)), scheduler.WithTracerProvider(tp))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	prefill, err := scheduler.NewProfile(profilehandler.DefaultPrefillProfile,
		[]framework.Filter{filter.NewPrefillRole(""), filter.NewLowQueue("", lowQueueThreshold)},
		prefillScorers, picker.NewMaxScore("", picker.WithSeed(seed+1)), scheduler.WithTracerProvider(tp))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	decider, err := profilehandler.NewPrefixBased("", disaggNonCachedBytes, prefix)
	if err != nil {
		return nil, err
	}
	s, err := scheduler.New(profilehandler.NewDisagg("", "", "", decider), map[string]*scheduler.Profile{
		profilehandler.DefaultDecodeProfile:  decode,
		profilehandler.DefaultPrefillProfile: prefill,
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return s, nil
}

// assignRoles labels the fleet for prefill/decode: in each model's pool a
// third of the endpoints (at least one) prefill and the rest decode; a
// pool of one endpoint does both.
func assignRoles(eps []*framework.SimpleEndpoint) {
	byPool := map[string][]*framework.EndpointMetadata{}
	var pools []string
	for _, ep := range eps {
		md := ep.GetMetadata()
		app := md.Labels["app"]
		if _, ok := byPool[app]; !ok {
			pools = append(pools, app)
		}
		byPool[app] = append(byPool[app], md)
	}
	for _, app := range pools {
		mds := byPool[app]
		if len(mds) == 1 {
			mds[0].Labels[filter.RoleLabel] = filter.RolePrefillDecode
			continue
		}
		prefill := max(1, len(mds)/3)
		for i, md := range mds {
			role := filter.RoleDecode
			if i < prefill {
				role = filter.RolePrefill
			}
			md.Labels[filter.RoleLabel] = role
		}
	}
}
