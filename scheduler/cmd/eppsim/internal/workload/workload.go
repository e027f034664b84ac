// Package workload generates the simulator's requests: tenants with long
// system prompts and few-shot templates shared by all their requests,
// multi-turn sessions whose prompts grow by one exchange per turn, a mix
// of base models and LoRA adapters, and surges: now and then one tenant's
// traffic bursts (a flash crowd), so that the endpoints holding its shared
// prefix are the ones that fill up. Calm traffic is where prefix affinity
// should decide the pick; a surge is where queue depth should override it.
//
// A Generator is deterministic: the same Config yields the same requests.
package workload

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Family is a base model served by one Deployment, with its LoRA adapters.
type Family struct {
	// Deployment is the model servers' Deployment name.
	Deployment string
	// BaseModel is the model the servers load at start.
	BaseModel string
	// Adapters are the LoRA adapters clients can ask for.
	Adapters []string
}

// Catalog is the simulator's default model mix.
func Catalog() []Family {
	return []Family{
		{
			Deployment: "vllm-llama-3-8b",
			BaseModel:  "meta-llama/Llama-3.1-8B-Instruct",
			Adapters: []string{
				"llama-3-8b-sql-lora", "llama-3-8b-support-lora", "llama-3-8b-summarize-lora",
				"llama-3-8b-legal-lora", "llama-3-8b-code-lora", "llama-3-8b-translate-lora",
			},
		},
		{
			Deployment: "vllm-qwen2-5-7b",
			BaseModel:  "Qwen/Qwen2.5-7B-Instruct",
			Adapters:   []string{"qwen2-5-7b-finance-lora", "qwen2-5-7b-medical-lora"},
		},
	}
}

// Target is what a tenant's requests ask for.
type Target struct {
	// Model is the model name in the request: the base model or an adapter.
	Model string
	// BaseModel is the base model whose servers can serve it.
	BaseModel string
	// Adapter is the LoRA adapter to load; empty for the base model.
	Adapter string
}

// Targets lists every base model and adapter of the families.
func Targets(families []Family) []Target {
	var ts []Target
	for _, f := range families {
		ts = append(ts, Target{Model: f.BaseModel, BaseModel: f.BaseModel})
		for _, a := range f.Adapters {
			ts = append(ts, Target{Model: a, BaseModel: f.BaseModel, Adapter: a})
		}
	}
	return ts
}

// Config configures a Generator.
type Config struct {
	// Seed makes the requests reproducible.
	Seed uint64
	// Targets are the models and adapters requested; every tenant uses one.
	Targets []Target
	// Tenants is the number of tenants; at least len(Targets) so that every
	// target is used.
	Tenants int
	// MaxSessionsPerTenant bounds a tenant's live conversations.
	MaxSessionsPerTenant int
	// NewSessionProbability is the chance a request opens a conversation
	// rather than continuing one.
	NewSessionProbability float64
	// MaxHistoryWords ends a conversation whose history grew beyond it.
	MaxHistoryWords int
	// SurgeEvery is the period of the surges, in requests; 0: no surge.
	// Each period is calm, then ends with a surge of SurgeLength requests
	// (so a run shorter than SurgeEvery-SurgeLength has none).
	SurgeEvery int
	// SurgeLength is how many requests a surge lasts, below SurgeEvery.
	SurgeLength int
	// SurgeShare is the fraction of a surge's requests that come from its
	// tenant, drawn at the surge's start with the tenants' popularity (so
	// that surges leave each tenant's expected share, Traffic, as it is).
	SurgeShare float64
	// SurgeRate multiplies the arrival rate during a surge (Intensity), at
	// least 1.
	SurgeRate float64
}

// DefaultConfig is a workload over targets with realistic sizes.
func DefaultConfig(seed uint64, targets []Target) Config {
	return Config{
		Seed:                  seed,
		Targets:               targets,
		Tenants:               max(12, len(targets)),
		MaxSessionsPerTenant:  24,
		NewSessionProbability: 0.3,
		MaxHistoryWords:       2500,
		SurgeEvery:            1000,
		SurgeLength:           250,
		SurgeShare:            0.7,
		SurgeRate:             2,
	}
}

func (c *Config) validate() error {
	switch {
	case len(c.Targets) == 0:
		return errors.New("workload: no targets")
	case c.Tenants < len(c.Targets):
		return fmt.Errorf("workload: %d tenants for %d targets, want at least one tenant per target", c.Tenants, len(c.Targets))
	case c.MaxSessionsPerTenant < 1:
		return fmt.Errorf("workload: MaxSessionsPerTenant %d, want at least 1", c.MaxSessionsPerTenant)
	case !(c.NewSessionProbability >= 0 && c.NewSessionProbability <= 1):
		return fmt.Errorf("workload: NewSessionProbability %v, want [0,1]", c.NewSessionProbability)
	case c.MaxHistoryWords < 1:
		return fmt.Errorf("workload: MaxHistoryWords %d, want at least 1", c.MaxHistoryWords)
	case c.SurgeEvery < 0:
		return fmt.Errorf("workload: SurgeEvery %d, want 0 (no surge) or a period", c.SurgeEvery)
	case c.SurgeEvery > 0 && (c.SurgeLength < 1 || c.SurgeLength >= c.SurgeEvery):
		return fmt.Errorf("workload: SurgeLength %d, want 1 to SurgeEvery-1 (%d)", c.SurgeLength, c.SurgeEvery-1)
	case c.SurgeEvery > 0 && !(c.SurgeShare > 0 && c.SurgeShare <= 1):
		return fmt.Errorf("workload: SurgeShare %v, want (0,1]", c.SurgeShare)
	case c.SurgeEvery > 0 && !(c.SurgeRate >= 1 && !math.IsInf(c.SurgeRate, 1)):
		return fmt.Errorf("workload: SurgeRate %v, want a finite factor of at least 1", c.SurgeRate)
	}
	return nil
}

// Request is one generated request.
type Request struct {
	// ID is the request id (x-request-id), a UUID.
	ID string
	// Tenant names the tenant that sent it.
	Tenant string
	// Target is the model or adapter asked for.
	Target
	// SessionID identifies the conversation; requests of one session share
	// their whole history as prompt prefix.
	SessionID string
	// NewSession is true for a conversation's first request.
	NewSession bool
	// Ended lists the sessions that will send no more requests, once this
	// one is done: its own after its last turn, or one abandoned to make
	// room for a new one. Callers keeping per-session state drop it then.
	Ended []string
	// Prompt is the flattened chat: system prompt, few-shot examples,
	// history, and the new user message.
	Prompt string
	// OutputTokens is how long the answer will be.
	OutputTokens int
	// Surge is true for a request sent during a surge (by its tenant or
	// not).
	Surge bool
}

type tenant struct {
	name     string
	target   Target
	weight   float64
	preamble string // system prompt and few-shot examples: shared by all its requests
	sessions []*session
}

type session struct {
	id      string
	history strings.Builder
	words   int
}

// Generator produces requests. It is not safe for concurrent use.
type Generator struct {
	cfg     Config
	r       *rand.Rand
	tenants []*tenant
	total   float64
	// n counts the requests made; surge is the surging tenant, nil when
	// calm.
	n     int
	surge *tenant
}

var tenantNames = []string{
	"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka",
	"tyrell", "cyberdyne", "soylent", "aperture", "monarch", "oscorp", "vandelay", "dunder",
}

// New returns a generator, or an error when cfg is invalid.
func New(cfg Config) (*Generator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x5851f42d4c957f2d))}
	for i := range cfg.Tenants {
		name := tenantNames[i%len(tenantNames)]
		if i >= len(tenantNames) {
			name = fmt.Sprintf("%s-%d", name, i/len(tenantNames))
		}
		t := &tenant{
			name:   name,
			target: cfg.Targets[i%len(cfg.Targets)],
			// Zipf-like popularity: a few tenants send most of the traffic.
			weight: 1 / math.Pow(float64(i+1), 0.8),
		}
		t.preamble = g.preamble(t)
		g.tenants = append(g.tenants, t)
		g.total += t.weight
	}
	return g, nil
}

// preamble is a tenant's system prompt (300 to 1500 words) and zero to three
// few-shot examples (80 to 250 words each).
func (g *Generator) preamble(t *tenant) string {
	var b strings.Builder
	b.WriteString("System: You are the assistant of ")
	b.WriteString(t.name)
	b.WriteString(". ")
	words(&b, g.r, between(g.r, 300, 1500))
	for i := range g.r.IntN(4) {
		fmt.Fprintf(&b, "\nExample %d:\nUser: ", i+1)
		words(&b, g.r, between(g.r, 40, 120))
		b.WriteString("\nAssistant: ")
		words(&b, g.r, between(g.r, 40, 130))
	}
	return b.String()
}

// inSurge tells whether request number n (from 0) is sent during a surge.
func (g *Generator) inSurge(n int) bool {
	return g.cfg.SurgeEvery > 0 && n%g.cfg.SurgeEvery >= g.cfg.SurgeEvery-g.cfg.SurgeLength
}

// Intensity is the factor by which the arrival rate of the next request
// (the one Next returns next) is above the calm rate: SurgeRate during a
// surge, 1 otherwise. A simulator divides its inter-arrival gap by it.
func (g *Generator) Intensity() float64 {
	if g.inSurge(g.n) {
		return g.cfg.SurgeRate
	}
	return 1
}

// Next returns the next request.
func (g *Generator) Next() Request {
	t := g.pickTenant()
	switch {
	case !g.inSurge(g.n):
		g.surge = nil
	case g.surge == nil:
		g.surge = g.pickTenant()
	}
	g.n++
	inSurge := g.surge != nil
	if inSurge && g.r.Float64() < g.cfg.SurgeShare {
		t = g.surge
	}
	s, isNew, abandoned := g.pickSession(t)
	var ended []string
	if abandoned != "" {
		ended = append(ended, abandoned)
	}

	msg := between(g.r, 10, 200)
	var b strings.Builder
	b.Grow(len(t.preamble) + s.history.Len() + msg*7 + 32)
	b.WriteString(t.preamble)
	b.WriteString(s.history.String())
	b.WriteString("\nUser: ")
	words(&b, g.r, msg)
	b.WriteString("\nAssistant:")
	prompt := b.String()

	out := between(g.r, 30, 400)
	// The next turn's prompt carries this exchange: the user message and
	// the answer the server will have given.
	s.history.WriteString(prompt[len(t.preamble)+s.history.Len():])
	s.history.WriteByte(' ')
	words(&s.history, g.r, out*5/8) // out tokens are about 5/8 as many words
	s.words += msg + out*5/8
	if s.words > g.cfg.MaxHistoryWords {
		g.endSession(t, s)
		ended = append(ended, s.id)
	}

	return Request{
		ID:           g.uuid(),
		Tenant:       t.name,
		Target:       t.target,
		SessionID:    s.id,
		NewSession:   isNew,
		Ended:        ended,
		Prompt:       prompt,
		OutputTokens: out,
		Surge:        inSurge,
	}
}

// Traffic returns the expected fraction of requests for each base model,
// from the tenants' popularity: what a fleet should be sized by. Surges do
// not change it (their tenant is drawn with the same popularity), though
// a surge moves the traffic of its moment.
func (g *Generator) Traffic() map[string]float64 {
	out := map[string]float64{}
	for _, t := range g.tenants {
		out[t.target.BaseModel] += t.weight / g.total
	}
	return out
}

func (g *Generator) pickTenant() *tenant {
	x := g.r.Float64() * g.total
	for _, t := range g.tenants {
		if x < t.weight {
			return t
		}
		x -= t.weight
	}
	return g.tenants[len(g.tenants)-1]
}

// pickSession continues one of t's sessions or opens one, and names the
// session abandoned to make room, if any.
func (g *Generator) pickSession(t *tenant) (s *session, opened bool, abandoned string) {
	if len(t.sessions) > 0 && g.r.Float64() >= g.cfg.NewSessionProbability {
		return t.sessions[g.r.IntN(len(t.sessions))], false, ""
	}
	if len(t.sessions) >= g.cfg.MaxSessionsPerTenant {
		abandoned = t.sessions[0].id // the oldest conversation
		t.sessions = t.sessions[1:]
	}
	s = &session{id: t.name + "-" + g.hex(8)}
	t.sessions = append(t.sessions, s)
	return s, true, abandoned
}

func (g *Generator) endSession(t *tenant, s *session) {
	for i, x := range t.sessions {
		if x == s {
			t.sessions = append(t.sessions[:i], t.sessions[i+1:]...)
			return
		}
	}
}

func (g *Generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

// uuid returns a random (version 4) UUID from the generator's stream.
func (g *Generator) uuid() string {
	var u [16]byte
	for i := range u {
		u[i] = byte(g.r.Uint32())
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
