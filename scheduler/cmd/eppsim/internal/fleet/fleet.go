// Package fleet simulates a fleet of vLLM model servers in simulated time,
// as an EPP would see them: Kubernetes pods whose scraped metrics (queue,
// running batch, KV-cache usage, loaded LoRA adapters) evolve with the
// requests routed to them.
//
// The simulation is deterministic: the same Config and the same sequence of
// Advance and Route calls yield the same states, whatever the wall clock does.
package fleet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// Pool is one Deployment of model servers serving a base model (one
// InferencePool, in gateway terms).
type Pool struct {
	// Deployment is the Deployment's name; pod names start with it.
	Deployment string
	// BaseModel is the model the servers load at start.
	BaseModel string
	// Replicas is the number of pods.
	Replicas int
}

// Config describes a fleet.
type Config struct {
	// Namespace is the pods' Kubernetes namespace.
	Namespace string
	// Pools are the fleet's Deployments.
	Pools []Pool
	// Server configures every model server.
	Server ServerConfig
	// ScrapeInterval is how often the metrics snapshot the scheduler reads is
	// refreshed (the EPP's scrape interval); 0 refreshes on every change.
	ScrapeInterval time.Duration
	// Seed makes the pods' names and addresses reproducible.
	Seed uint64
}

// Stats are fleet-wide counters.
type Stats struct {
	Routed, Completed, Rejected      int
	PromptTokens, CachedPromptTokens int64
	AdapterLoads, AdapterEvictions   int
	MaxWaiting                       int
}

// Fleet is the simulated fleet. It is not safe for concurrent use: the
// simulator advances it and schedules on it from one goroutine.
type Fleet struct {
	cfg        Config
	now        time.Duration
	lastScrape time.Duration
	servers    []*server
	byEndpoint map[framework.Endpoint]*server
	endpoints  []*framework.SimpleEndpoint
	pools      map[string][]framework.Endpoint
	models     []string
	stats      Stats
}

// New builds a fleet at simulated time zero, every server idle.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	ids := newIdentities(r)
	f := &Fleet{
		cfg:        cfg,
		byEndpoint: map[framework.Endpoint]*server{},
		pools:      map[string][]framework.Endpoint{},
	}
	for _, p := range cfg.Pools {
		hash := ids.replicaSetHash()
		f.models = append(f.models, p.BaseModel)
		for range p.Replicas {
			name := ids.podName(p.Deployment, hash)
			ep := &framework.SimpleEndpoint{Metadata: framework.EndpointMetadata{
				ID:      cfg.Namespace + "/" + name,
				Name:    name,
				Address: ids.podIP(),
				Port:    8000,
				Labels:  map[string]string{"app": p.Deployment, "pod-template-hash": hash},
			}}
			s := newServer(&f.cfg.Server, ep, &f.stats)
			f.servers = append(f.servers, s)
			f.byEndpoint[ep] = s
			f.endpoints = append(f.endpoints, ep)
			f.pools[p.BaseModel] = append(f.pools[p.BaseModel], ep)
		}
	}
	f.scrape()
	return f, nil
}

func (c *Config) validate() error {
	if len(c.Pools) == 0 {
		return errors.New("fleet: no pools")
	}
	seen := map[string]bool{}
	for _, p := range c.Pools {
		if p.Replicas < 1 {
			return fmt.Errorf("fleet: pool %q: replicas %d, want at least 1", p.Deployment, p.Replicas)
		}
		if seen[p.BaseModel] {
			return fmt.Errorf("fleet: base model %q served by two pools", p.BaseModel)
		}
		seen[p.BaseModel] = true
	}
	s := c.Server
	if s.MaxRunning < 1 || s.MaxWaiting < 1 || s.KVCacheTokens < 1 || s.MaxLoRAs < 1 || s.PrefillTokensPerSecond <= 0 || s.DecodeTokenTime <= 0 || s.BatchSlowdown < 0 {
		return fmt.Errorf("fleet: invalid server config %+v", s)
	}
	return nil
}

// Now returns the simulated time.
func (f *Fleet) Now() time.Duration { return f.now }

// Endpoints returns every endpoint of the fleet, in a fixed order.
func (f *Fleet) Endpoints() []*framework.SimpleEndpoint { return f.endpoints }

// Models returns the base models the fleet serves, in pool order.
func (f *Fleet) Models() []string { return f.models }

// Candidates returns the endpoints serving baseModel. The slice is the
// fleet's: copy it before handing it to anything that may modify it.
func (f *Fleet) Candidates(baseModel string) []framework.Endpoint { return f.pools[baseModel] }

// Stats returns the fleet-wide counters.
func (f *Fleet) Stats() Stats { return f.stats }

// Advance moves simulated time forward to t: requests finish, waiting ones
// start, and the metrics snapshot is refreshed when a scrape is due. Going
// backwards is a no-op.
func (f *Fleet) Advance(t time.Duration) {
	if t < f.now {
		return
	}
	f.now = t
	for _, s := range f.servers {
		s.advance(t)
	}
	if f.cfg.ScrapeInterval == 0 || t-f.lastScrape >= f.cfg.ScrapeInterval {
		f.scrape()
	}
}

// ErrQueueFull is Route's error when the endpoint's waiting queue is full.
var ErrQueueFull = errors.New("fleet: waiting queue full")

// Route sends a job to an endpoint at the current simulated time.
func (f *Fleet) Route(ep framework.Endpoint, j Job) error {
	s, ok := f.byEndpoint[ep]
	if !ok {
		return errors.New("fleet: route to an endpoint outside the fleet")
	}
	f.stats.Routed++
	if !s.enqueue(j) {
		return ErrQueueFull
	}
	if f.cfg.ScrapeInterval == 0 {
		s.snapshot()
	}
	return nil
}

func (f *Fleet) scrape() {
	for _, s := range f.servers {
		s.snapshot()
	}
	f.lastScrape = f.now
}
