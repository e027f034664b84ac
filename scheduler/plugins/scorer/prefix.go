package scorer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/instrument"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// PrefixCacheType is the upstream type of the prefix-cache scorer.
const PrefixCacheType = "prefix-cache-scorer"

// PrefixCacheConfig configures a PrefixCache scorer. Every field must be
// positive; DefaultPrefixCacheConfig has upstream's values.
type PrefixCacheConfig struct {
	// BlockSize is the number of prompt bytes per hashed block (upstream
	// hashes 64-character blocks).
	BlockSize int
	// MaxPrefixBlocks caps how many leading blocks of a prompt are hashed and
	// matched, bounding the work on very long prompts. The default is
	// upstream's cap of 131072 tokens, at upstream's own estimate of 4 bytes
	// per token: 512 KiB, the whole of any prompt a 128K-token model takes.
	MaxPrefixBlocks int
	// LRUCapacityPerEndpoint is how many block hashes are remembered per
	// endpoint before the least recently used are evicted.
	LRUCapacityPerEndpoint int
	// MaxEndpoints bounds how many endpoints are tracked; beyond it the
	// endpoint recorded least recently is forgotten whole, so endpoints that
	// leave the fleet do not leak.
	MaxEndpoints int
}

// Defaults of PrefixCacheConfig: upstream's block size, block cap and LRU
// capacity, and an endpoint bound well above a single pool's size.
const (
	// DefaultPrefixBlockSize is upstream's block size in prompt bytes.
	DefaultPrefixBlockSize = 64
	// DefaultMaxPrefixBlocks is upstream's cap on the prompt matched
	// (131072 tokens at 4 bytes each), in blocks of DefaultPrefixBlockSize.
	DefaultMaxPrefixBlocks = 131072 * 4 / DefaultPrefixBlockSize
	// DefaultLRUCapacityPerEndpoint is upstream's per-server LRU capacity.
	DefaultLRUCapacityPerEndpoint = 31250
	// DefaultPrefixCacheMaxEndpoints is ours: upstream drops endpoints when
	// its datastore removes them, we bound the count instead.
	DefaultPrefixCacheMaxEndpoints = 4096
)

// DefaultPrefixCacheConfig returns the defaults above.
func DefaultPrefixCacheConfig() PrefixCacheConfig {
	return PrefixCacheConfig{
		BlockSize:              DefaultPrefixBlockSize,
		MaxPrefixBlocks:        DefaultMaxPrefixBlocks,
		LRUCapacityPerEndpoint: DefaultLRUCapacityPerEndpoint,
		MaxEndpoints:           DefaultPrefixCacheMaxEndpoints,
	}
}

// Validate reports every field that is not positive.
func (c PrefixCacheConfig) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{
		{"BlockSize", c.BlockSize},
		{"MaxPrefixBlocks", c.MaxPrefixBlocks},
		{"LRUCapacityPerEndpoint", c.LRUCapacityPerEndpoint},
		{"MaxEndpoints", c.MaxEndpoints},
	} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// PrefixCache prefers endpoints likely to hold the prompt's prefix in their
// KV cache: the score is the number of leading prompt blocks the endpoint
// has served, over the prompt's block count.
//
// The prompt is hashed once per request (see Score) and the hashes ride on
// the request to PreRequest, which records them for the endpoints the
// primary profile picked. The scorer approximates the servers' caches from
// its own routing decisions, as upstream's does; it is safe for concurrent
// use (scoring takes a read lock, recording a write lock).
//
// Memory is bounded by LRUCapacityPerEndpoint blocks for each of at most
// MaxEndpoints endpoints. Call Forget when an endpoint leaves the fleet to
// free its share at once; otherwise it ages out when new endpoints need room.
type PrefixCache struct {
	name    framework.TypedName
	cfg     PrefixCacheConfig
	dataKey string
	tracer  *instrument.PluginTracer

	counts sync.Pool // *[]int32 match counts, for indexes beyond countsOnStack

	mu    sync.RWMutex
	index prefixIndex
}

var (
	_ framework.Scorer     = (*PrefixCache)(nil)
	_ framework.PreRequest = (*PrefixCache)(nil)
)

// NewPrefixCache returns a prefix-cache scorer named name (the type when
// empty), or an error naming the invalid fields of cfg.
func NewPrefixCache(name string, cfg PrefixCacheConfig) (*PrefixCache, error) {
	tn := framework.NewTypedName(PrefixCacheType, name)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("prefix-cache scorer %q: %w", tn.Name, err)
	}
	return &PrefixCache{
		name:   tn,
		cfg:    cfg,
		tracer: instrument.NewPluginTracer(TracerScope),
		// Unique per instance: two prefix scorers with different block sizes
		// must not read each other's hashes.
		dataKey: tn.String() + "/prompt-blocks",
		index:   newPrefixIndex(cfg.LRUCapacityPerEndpoint, cfg.MaxEndpoints),
		counts:  sync.Pool{New: func() any { return new([]int32) }},
	}, nil
}

// TypedName implements framework.Plugin.
func (s *PrefixCache) TypedName() framework.TypedName { return s.name }

// Category implements framework.Scorer.
func (s *PrefixCache) Category() framework.ScorerCategory { return framework.Affinity }

// inlineBlocks is how many block hashes fit in the per-request state itself:
// prompts up to 4 KiB at the default block size cost one allocation, not two.
const inlineBlocks = 64

// promptHashes is the per-request state; a pointer so that storing it in the
// request's data boxes nothing. owner guards against another instance
// configured under the same name (it may use another block size); model and
// prompt against a request struct reused for another prompt. Comparing them
// is nearly free: an unchanged string compares equal on its pointer.
type promptHashes struct {
	owner         *PrefixCache
	model, prompt string
	hashes        []uint64
	inline        [inlineBlocks]uint64
}

// hashes returns the request's block hashes, computing and storing them on
// the request the first time (a second profile reuses them).
func (s *PrefixCache) hashes(req *framework.InferenceRequest) []uint64 {
	if v, ok := req.Data(s.dataKey); ok {
		if p, ok := v.(*promptHashes); ok && p.owner == s && p.prompt == req.Prompt && p.model == req.TargetModel {
			return p.hashes
		}
	}
	n := promptBlocks(req.Prompt, s.cfg.BlockSize, s.cfg.MaxPrefixBlocks)
	p := &promptHashes{owner: s, model: req.TargetModel, prompt: req.Prompt}
	dst := p.inline[:0]
	if n > inlineBlocks {
		dst = make([]uint64, 0, n)
	}
	p.hashes = hashPrompt(dst, req.TargetModel, req.Prompt, s.cfg.BlockSize, s.cfg.MaxPrefixBlocks)
	req.SetData(s.dataKey, p)
	return p.hashes
}

// Score implements framework.Scorer. Every endpoint with metadata gets a
// score; a prompt shorter than one block matches nothing anywhere and scores
// 0 everywhere (upstream scores every candidate too). When the span in ctx
// is recording, the work runs in a nested score_prefix_cache span; when it
// is not, no tracing work is done beyond that one check.
func (s *PrefixCache) Score(ctx context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	if _, span, ok := s.tracer.Start(ctx, schema.SpanScorePrefixCache); ok {
		s.score(req, endpoints, scores)
		endPrefixSpan(span, req, scores)
		return
	}
	s.score(req, endpoints, scores)
}

// countsOnStack is how many tracked endpoints the per-request match counts
// cover on the stack; larger indexes borrow a slice from a pool.
const countsOnStack = 256

// score does the work of Score.
func (s *PrefixCache) score(req *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	hashes := s.hashes(req)
	total := float64(len(hashes))
	var buf [countsOnStack]int32

	s.mu.RLock()
	defer s.mu.RUnlock()
	var counts []int32
	if n := len(s.index.slots); n <= countsOnStack {
		counts = buf[:n]
	} else {
		pooled := s.counts.Get().(*[]int32)
		if cap(*pooled) < n {
			*pooled = make([]int32, n)
		}
		counts = (*pooled)[:n]
		clear(counts)
		defer s.counts.Put(pooled)
	}
	s.index.match(hashes, counts)
	matched := s.index.holders(hashes)
	for i, ep := range endpoints {
		md := ep.GetMetadata()
		if md == nil {
			continue
		}
		scores[i] = 0
		if slot, ok := s.index.matchedSlot(matched, md.ID); ok {
			scores[i] = float64(counts[slot]) / total
		}
	}
}

// PreRequest implements framework.PreRequest: the endpoints the primary
// profile picked now hold the prompt's blocks.
func (s *PrefixCache) PreRequest(_ context.Context, req *framework.InferenceRequest, result *framework.SchedulingResult) {
	if result == nil {
		return
	}
	primary := result.ProfileResults[result.PrimaryProfileName]
	if primary == nil || len(primary.TargetEndpoints) == 0 {
		return
	}
	hashes := s.hashes(req)
	if len(hashes) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ep := range primary.TargetEndpoints {
		if md := ep.GetMetadata(); md != nil {
			s.index.record(md.ID, hashes)
		}
	}
}

// MatchedBytes returns how many leading bytes of the request's prompt the
// endpoint with the given metadata ID holds, by the scorer's estimate: its
// matched blocks times the block size. A prefill/decode decider reads it.
func (s *PrefixCache) MatchedBytes(req *framework.InferenceRequest, endpointID string) int {
	hashes := s.hashes(req)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index.matchedBlocks(hashes, endpointID) * s.cfg.BlockSize
}

// Forget drops everything remembered about the endpoint with the given
// metadata ID. Call it when the endpoint leaves the fleet.
func (s *PrefixCache) Forget(endpointID string) {
	s.mu.Lock()
	s.index.forget(endpointID)
	s.mu.Unlock()
}

// TrackedEndpoints returns how many endpoints the scorer holds blocks for.
func (s *PrefixCache) TrackedEndpoints() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.index.ids)
}
