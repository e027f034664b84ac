package fleet

import (
	"time"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// ServerConfig describes one simulated vLLM model server.
type ServerConfig struct {
	// MaxRunning is how many requests run in one batch (vLLM max_num_seqs).
	MaxRunning int
	// KVCacheTokens is the KV-cache capacity in tokens.
	KVCacheTokens int
	// MaxLoRAs is how many LoRA adapters can be loaded at once (vLLM max_loras).
	MaxLoRAs int
	// LoRALoadTime is how long loading an adapter delays the first request needing it.
	LoRALoadTime time.Duration
	// PrefillTokensPerSecond is the prefill throughput for uncached prompt tokens.
	PrefillTokensPerSecond float64
	// DecodeTokenTime is the time per output token with a batch of one.
	DecodeTokenTime time.Duration
	// BatchSlowdown is the fraction by which decoding slows at a full batch.
	BatchSlowdown float64
	// PrefixCacheBlocks is the number of blocks the server's prefix cache keeps.
	PrefixCacheBlocks int
	// MaxWaiting bounds the waiting queue; beyond it requests are rejected
	// (a gateway would shed them), which keeps an overloaded run's memory bounded.
	MaxWaiting int
}

// DefaultServerConfig is an 8B model on one 80 GB GPU, roughly.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		MaxRunning:             32,
		KVCacheTokens:          96_000,
		MaxLoRAs:               4,
		LoRALoadTime:           400 * time.Millisecond,
		PrefillTokensPerSecond: 12_000,
		DecodeTokenTime:        12 * time.Millisecond,
		BatchSlowdown:          1.0,
		PrefixCacheBlocks:      8_192,
		MaxWaiting:             1_024,
	}
}

// Job is a request as a model server sees it.
type Job struct {
	// Adapter is the LoRA adapter the request needs; empty for the base model.
	Adapter string
	// PromptTokens and OutputTokens size the request.
	PromptTokens, OutputTokens int
	// Blocks are the prompt's chained block hashes (BlockHashes); the server
	// keeps them, so the caller must not reuse the slice.
	Blocks []uint64
}

type job struct {
	Job
	end time.Duration
}

func (j *job) kvTokens() int { return j.PromptTokens + j.OutputTokens }

type adapter struct {
	running  int
	lastUsed time.Duration
	readyAt  time.Duration
}

// server is one model server: a FIFO waiting queue, a running batch bounded
// by MaxRunning and the KV cache, loaded adapters, and a prefix cache.
type server struct {
	cfg      *ServerConfig
	ep       *framework.SimpleEndpoint
	now      time.Duration
	waiting  []*job
	running  []*job
	kvUsed   int
	adapters map[string]*adapter
	prefix   *blockLRU
	stats    *Stats
}

func newServer(cfg *ServerConfig, ep *framework.SimpleEndpoint, stats *Stats) *server {
	s := &server{
		cfg:      cfg,
		ep:       ep,
		adapters: map[string]*adapter{},
		prefix:   newBlockLRU(cfg.PrefixCacheBlocks),
		stats:    stats,
	}
	ep.Metrics.ActiveModels = map[string]int{}
	ep.Metrics.WaitingModels = map[string]int{}
	ep.Metrics.MaxActiveModels = cfg.MaxLoRAs
	return s
}

// enqueue adds a job at the server's current time and starts it if it
// can; it reports false when the waiting queue is full.
func (s *server) enqueue(j Job) bool {
	if len(s.waiting) >= s.cfg.MaxWaiting {
		s.stats.Rejected++
		return false
	}
	s.waiting = append(s.waiting, &job{Job: j})
	s.admit()
	s.stats.MaxWaiting = max(s.stats.MaxWaiting, len(s.waiting))
	return true
}

// advance runs the server until to: requests finish in order of their end
// time, and each finish may admit waiting requests at that instant.
func (s *server) advance(to time.Duration) {
	for {
		s.admit()
		i := s.nextFinish()
		if i < 0 || s.running[i].end > to {
			break
		}
		s.now = max(s.now, s.running[i].end)
		s.finishDue()
	}
	s.now = max(s.now, to)
}

func (s *server) nextFinish() int {
	best := -1
	for i, j := range s.running {
		if best < 0 || j.end < s.running[best].end {
			best = i
		}
	}
	return best
}

func (s *server) finishDue() {
	kept := s.running[:0]
	for _, j := range s.running {
		if j.end > s.now {
			kept = append(kept, j)
			continue
		}
		s.kvUsed -= j.kvTokens()
		if a := s.adapters[j.Adapter]; a != nil {
			a.running--
			a.lastUsed = s.now
		}
		s.stats.Completed++
	}
	clear(s.running[len(kept):])
	s.running = kept
}

// admit starts waiting requests in FIFO order while the batch and the KV
// cache have room. A request whose adapter cannot be loaded (every slot
// holds an adapter in use) is passed over, as vLLM does, and waits.
func (s *server) admit() {
	for i := 0; i < len(s.waiting) && len(s.running) < s.cfg.MaxRunning; {
		j := s.waiting[i]
		if s.kvUsed+j.kvTokens() > s.cfg.KVCacheTokens && len(s.running) > 0 {
			break // head-of-line blocked on KV space until something finishes
		}
		ready, ok := s.loadAdapter(j.Adapter)
		if !ok {
			i++
			continue
		}
		s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
		s.start(j, max(s.now, ready))
	}
}

func (s *server) start(j *job, at time.Duration) {
	cached := min(s.prefix.match(j.Blocks)*BlockTokens, j.PromptTokens)
	s.prefix.add(j.Blocks)
	s.stats.PromptTokens += int64(j.PromptTokens)
	s.stats.CachedPromptTokens += int64(cached)

	prefill := time.Duration(float64(j.PromptTokens-cached) / s.cfg.PrefillTokensPerSecond * float64(time.Second))
	slowdown := 1 + s.cfg.BatchSlowdown*float64(len(s.running))/float64(s.cfg.MaxRunning)
	decode := time.Duration(float64(j.OutputTokens) * float64(s.cfg.DecodeTokenTime) * slowdown)
	j.end = at + prefill + decode

	s.running = append(s.running, j)
	s.kvUsed += j.kvTokens()
	if a := s.adapters[j.Adapter]; a != nil {
		a.running++
		a.lastUsed = s.now
	}
}

// loadAdapter makes name loaded and returns when it is ready. It evicts the
// least recently used idle adapter when every slot is taken, and reports
// false when all loaded adapters are in use.
func (s *server) loadAdapter(name string) (time.Duration, bool) {
	if name == "" {
		return s.now, true
	}
	if a, ok := s.adapters[name]; ok {
		return a.readyAt, true
	}
	if len(s.adapters) >= s.cfg.MaxLoRAs {
		victim := ""
		for n, a := range s.adapters {
			if a.running > 0 {
				continue
			}
			// Ties broken by name: map order must not leak into the simulation.
			if v := s.adapters[victim]; victim == "" || a.lastUsed < v.lastUsed || (a.lastUsed == v.lastUsed && n < victim) {
				victim = n
			}
		}
		if victim == "" {
			return 0, false
		}
		delete(s.adapters, victim)
		s.stats.AdapterEvictions++
	}
	a := &adapter{readyAt: s.now + s.cfg.LoRALoadTime, lastUsed: s.now}
	s.adapters[name] = a
	s.stats.AdapterLoads++
	return a.readyAt, true
}

// snapshot publishes the server's state into its endpoint's metrics, as a
// metrics scrape of the model server would.
func (s *server) snapshot() {
	m := &s.ep.Metrics
	m.WaitingQueueSize = len(s.waiting)
	m.RunningRequestsSize = len(s.running)
	m.KVCacheUsagePercent = float64(s.kvUsed) / float64(s.cfg.KVCacheTokens)
	clear(m.ActiveModels)
	for name, a := range s.adapters {
		m.ActiveModels[name] = a.running
	}
	clear(m.WaitingModels)
	for _, j := range s.waiting {
		if j.Adapter != "" {
			if _, loaded := s.adapters[j.Adapter]; !loaded {
				m.WaitingModels[j.Adapter]++
			}
		}
	}
}
