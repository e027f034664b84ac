package scorer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

const primary = "default"

// testPrefix is a prefix scorer with 4-byte blocks, so prompts spell their
// blocks: "aaaabbbb" is two blocks.
func testPrefix(t *testing.T, mod func(*PrefixCacheConfig)) *PrefixCache {
	t.Helper()
	cfg := PrefixCacheConfig{BlockSize: 4, MaxPrefixBlocks: 16, LRUCapacityPerEndpoint: 64, MaxEndpoints: 16}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewPrefixCache("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func prefixReq(prompt string) *framework.InferenceRequest {
	return &framework.InferenceRequest{TargetModel: "m", Prompt: prompt}
}

// serve records that the primary profile sent a request for prompt to eps.
func serve(s *PrefixCache, prompt string, eps ...framework.Endpoint) {
	s.PreRequest(context.Background(), prefixReq(prompt), &framework.SchedulingResult{
		PrimaryProfileName: primary,
		ProfileResults:     map[string]*framework.ProfileRunResult{primary: {TargetEndpoints: eps}},
	})
}

func TestPrefixCacheScore(t *testing.T) {
	a, b, c := testfleet.Endpoint("ns/a", framework.Metrics{}), testfleet.Endpoint("ns/b", framework.Metrics{}), testfleet.Endpoint("ns/c", framework.Metrics{})
	eps := []framework.Endpoint{a, b, c}
	tests := []struct {
		name   string
		served map[string]framework.Endpoint // prompt -> endpoint that served it
		prompt string
		want   []float64
	}{
		{"cold", nil, "aaaabbbb", []float64{0, 0, 0}},
		{"full match", map[string]framework.Endpoint{"aaaabbbbcccc": a}, "aaaabbbbcccc", []float64{1, 0, 0}},
		{"half the blocks", map[string]framework.Endpoint{"aaaabbbbcccc": a}, "aaaabbbbddddeeee", []float64{0.5, 0, 0}},
		{"longer served prompt", map[string]framework.Endpoint{"aaaabbbbccccdddd": b}, "aaaabbbb", []float64{0, 1, 0}},
		{"first block differs", map[string]framework.Endpoint{"xxxxbbbbcccc": a}, "aaaabbbbcccc", []float64{0, 0, 0}},
		{"partial block ignored", map[string]framework.Endpoint{"aaaabbbbcc": c}, "aaaabbbbdd", []float64{0, 0, 1}},
		{"best prefix per endpoint", map[string]framework.Endpoint{"aaaa": a, "aaaabbbbcccc": b}, "aaaabbbbccccdddd", []float64{0.25, 0.75, 0}},
		{"prompt under one block", map[string]framework.Endpoint{"aaaa": a}, "aa", []float64{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testPrefix(t, nil)
			for p, ep := range tt.served {
				serve(s, p, ep)
			}
			sameScores(t, score(s, prefixReq(tt.prompt), eps), tt.want)
		})
	}
}

// TestPrefixCacheModelSeedsChain: the same prompt to another model shares
// no cache.
func TestPrefixCacheModelSeedsChain(t *testing.T) {
	s := testPrefix(t, nil)
	a := testfleet.Endpoint("ns/a", framework.Metrics{})
	serve(s, "aaaabbbb", a)
	req := &framework.InferenceRequest{TargetModel: "other", Prompt: "aaaabbbb"}
	sameScores(t, score(s, req, []framework.Endpoint{a}), []float64{0})
}

func TestPrefixCacheMaxBlocks(t *testing.T) {
	s := testPrefix(t, func(c *PrefixCacheConfig) { c.MaxPrefixBlocks = 2 })
	a := testfleet.Endpoint("ns/a", framework.Metrics{})
	serve(s, "aaaabbbbxxxx", a)
	// Only the first two blocks count, and they match.
	sameScores(t, score(s, prefixReq("aaaabbbbcccc"), []framework.Endpoint{a}), []float64{1})
}

func TestPrefixCacheNoMetadata(t *testing.T) {
	s := testPrefix(t, nil)
	eps := []framework.Endpoint{&testfleet.NilMetadata{}, testfleet.Endpoint("ns/a", framework.Metrics{})}
	sameScores(t, score(s, prefixReq("aaaabbbb"), eps), []float64{nan, 0})
	sameScores(t, score(s, prefixReq("aa"), eps), []float64{nan, 0})
}

// TestPrefixCachePreRequest checks that only the primary profile's picks
// are recorded, all of them, and that missing results record nothing.
func TestPrefixCachePreRequest(t *testing.T) {
	a, b, c := testfleet.Endpoint("ns/a", framework.Metrics{}), testfleet.Endpoint("ns/b", framework.Metrics{}), testfleet.Endpoint("ns/c", framework.Metrics{})
	s := testPrefix(t, nil)
	ctx := context.Background()
	s.PreRequest(ctx, prefixReq("aaaa"), &framework.SchedulingResult{
		PrimaryProfileName: primary,
		ProfileResults: map[string]*framework.ProfileRunResult{
			primary:   {TargetEndpoints: []framework.Endpoint{a, b}},
			"prefill": {TargetEndpoints: []framework.Endpoint{c}},
		},
	})
	s.PreRequest(ctx, prefixReq("aaaa"), nil)
	s.PreRequest(ctx, prefixReq("aaaa"), &framework.SchedulingResult{PrimaryProfileName: "missing"})
	sameScores(t, score(s, prefixReq("aaaa"), []framework.Endpoint{a, b, c}), []float64{1, 1, 0})
}

// TestPrefixCacheHashesOnce: the hashes computed by the first Score are the
// ones later calls and PreRequest use, until the request's prompt changes.
func TestPrefixCacheHashesOnce(t *testing.T) {
	s := testPrefix(t, nil)
	a := testfleet.Endpoint("ns/a", framework.Metrics{})
	req := prefixReq("aaaabbbb")
	held := func() *promptHashes {
		t.Helper()
		v, ok := req.Data(s.dataKey)
		if !ok {
			t.Fatal("no hashes on the request")
		}
		return v.(*promptHashes)
	}
	score(s, req, []framework.Endpoint{a})
	first := held()
	if len(first.hashes) != 2 {
		t.Fatalf("hashed %d blocks, want 2", len(first.hashes))
	}
	score(s, req, []framework.Endpoint{a})
	s.PreRequest(context.Background(), req, &framework.SchedulingResult{
		PrimaryProfileName: primary,
		ProfileResults:     map[string]*framework.ProfileRunResult{primary: {TargetEndpoints: []framework.Endpoint{a}}},
	})
	if held() != first {
		t.Error("hashes were recomputed for the same prompt")
	}
	sameScores(t, score(s, prefixReq("aaaabbbb"), []framework.Endpoint{a}), []float64{1})

	// A request struct reused for another prompt, or another model, is
	// hashed anew.
	req.Prompt = "zzzzzzzzzzzz"
	sameScores(t, score(s, req, []framework.Endpoint{a}), []float64{0})
	if h := held(); h == first || len(h.hashes) != 3 {
		t.Errorf("a changed prompt kept its old hashes")
	}
	before := held()
	req.TargetModel = "other"
	score(s, req, []framework.Endpoint{a})
	if held() == before {
		t.Errorf("a changed model kept its old hashes")
	}
}

// TestPrefixCacheInstancesKeepOwnHashes: two instances with different block
// sizes on one request do not read each other's hashes.
func TestPrefixCacheInstancesKeepOwnHashes(t *testing.T) {
	s4 := testPrefix(t, nil)
	s2, err := NewPrefixCache("small-blocks", PrefixCacheConfig{BlockSize: 2, MaxPrefixBlocks: 16, LRUCapacityPerEndpoint: 64, MaxEndpoints: 4})
	if err != nil {
		t.Fatal(err)
	}
	a := testfleet.Endpoint("ns/a", framework.Metrics{})
	serve(s2, "aabb", a)
	req := prefixReq("aabbccdd")
	score(s4, req, []framework.Endpoint{a})
	// s2 hashes 4 blocks of which 2 match; had it read s4's two 4-byte
	// blocks it would match none.
	sameScores(t, score(s2, req, []framework.Endpoint{a}), []float64{0.5})
}

// TestPrefixCacheSameName: two instances configured under one name keep
// their own state on the request (each checks it is the owner).
func TestPrefixCacheSameName(t *testing.T) {
	s1, s2 := testPrefix(t, nil), testPrefix(t, nil)
	a := testfleet.Endpoint("ns/a", framework.Metrics{})
	serve(s2, "aaaabbbb", a)
	req := prefixReq("aaaabbbb")
	score(s1, req, []framework.Endpoint{a})
	sameScores(t, score(s2, req, []framework.Endpoint{a}), []float64{1})
}

// TestPrefixCacheLRU: with room for 2 blocks, a 3-block prompt keeps its
// first two (recorded last), and a later prompt evicts the oldest blocks.
func TestPrefixCacheLRU(t *testing.T) {
	s := testPrefix(t, func(c *PrefixCacheConfig) { c.LRUCapacityPerEndpoint = 2 })
	a := testfleet.Endpoint("ns/a", framework.Metrics{})
	eps := []framework.Endpoint{a}
	serve(s, "aaaabbbbcccc", a)
	sameScores(t, score(s, prefixReq("aaaabbbbcccc"), eps), []float64{2.0 / 3})
	serve(s, "xxxx", a) // evicts block "bbbb" (least recent), keeps "aaaa"
	sameScores(t, score(s, prefixReq("aaaabbbb"), eps), []float64{0.5})
	sameScores(t, score(s, prefixReq("xxxx"), eps), []float64{1})
	serve(s, "aaaa", a) // touches "aaaa": now "xxxx" is oldest
	serve(s, "yyyy", a)
	sameScores(t, score(s, prefixReq("aaaa"), eps), []float64{1})
	sameScores(t, score(s, prefixReq("xxxx"), eps), []float64{0})
}

// TestPrefixCacheEndpointBound: beyond MaxEndpoints the endpoint recorded
// least recently is dropped whole; Forget drops one at once.
func TestPrefixCacheEndpointBound(t *testing.T) {
	s := testPrefix(t, func(c *PrefixCacheConfig) { c.MaxEndpoints = 2 })
	a, b, c := testfleet.Endpoint("ns/a", framework.Metrics{}), testfleet.Endpoint("ns/b", framework.Metrics{}), testfleet.Endpoint("ns/c", framework.Metrics{})
	eps := []framework.Endpoint{a, b, c}
	serve(s, "aaaa", a)
	serve(s, "aaaa", b)
	serve(s, "aaaa", a) // b is now the least recently written
	serve(s, "aaaa", c)
	if n := s.TrackedEndpoints(); n != 2 {
		t.Fatalf("tracking %d endpoints, want 2", n)
	}
	sameScores(t, score(s, prefixReq("aaaa"), eps), []float64{1, 0, 1})
	s.Forget("ns/a")
	s.Forget("ns/unknown")
	sameScores(t, score(s, prefixReq("aaaa"), eps), []float64{0, 0, 1})
	if n := s.TrackedEndpoints(); n != 1 {
		t.Errorf("tracking %d endpoints after Forget, want 1", n)
	}
}

func TestPrefixCacheConfig(t *testing.T) {
	if _, err := NewPrefixCache("", DefaultPrefixCacheConfig()); err != nil {
		t.Fatalf("default config rejected: %v", err)
	}
	tests := []struct {
		name  string
		mod   func(*PrefixCacheConfig)
		field string
	}{
		{"block size", func(c *PrefixCacheConfig) { c.BlockSize = 0 }, "BlockSize"},
		{"max blocks", func(c *PrefixCacheConfig) { c.MaxPrefixBlocks = -1 }, "MaxPrefixBlocks"},
		{"lru capacity", func(c *PrefixCacheConfig) { c.LRUCapacityPerEndpoint = 0 }, "LRUCapacityPerEndpoint"},
		{"max endpoints", func(c *PrefixCacheConfig) { c.MaxEndpoints = 0 }, "MaxEndpoints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultPrefixCacheConfig()
			tt.mod(&cfg)
			s, err := NewPrefixCache("pc", cfg)
			if err == nil || s != nil {
				t.Fatalf("NewPrefixCache accepted %+v", cfg)
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), `"pc"`) {
				t.Errorf("error %q names neither the field %s nor the instance", err, tt.field)
			}
		})
	}
}

func TestPrefixCacheName(t *testing.T) {
	s := testPrefix(t, nil)
	if got := s.TypedName(); got.Type != PrefixCacheType || got.Name != PrefixCacheType {
		t.Errorf("TypedName = %+v", got)
	}
	if s.Category() != framework.Affinity {
		t.Errorf("Category = %v", s.Category())
	}
}

// TestPrefixCacheConcurrent is for -race: scoring and recording at once.
func TestPrefixCacheConcurrent(t *testing.T) {
	s := testPrefix(t, func(c *PrefixCacheConfig) { c.MaxEndpoints = 4; c.LRUCapacityPerEndpoint = 8 })
	eps := testfleet.Upstream(8, "m")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				p := fmt.Sprintf("%04d%04d", g, i%7)
				score(s, prefixReq(p), eps)
				serve(s, p, eps[(g+i)%len(eps)])
			}
		})
	}
	wg.Wait()
	if n := s.TrackedEndpoints(); n > 4 {
		t.Errorf("tracking %d endpoints, bound is 4", n)
	}
}

// TestPrefixCacheAllocs: a request costs a constant few allocations (the
// hashes with their holder, the request's data slot, and a separate hash
// slice for a long prompt), whatever the fleet size.
func TestPrefixCacheAllocs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		prompt string
		want   float64
	}{
		{"short prompt", strings.Repeat("You are a helpful assistant. ", 40), 2},
		{"long prompt", strings.Repeat("You are a helpful assistant. ", 400), 3},
	} {
		t.Run(tt.name, func(t *testing.T) { prefixAllocs(t, tt.prompt, tt.want) })
	}
}

// halfServed returns a default prefix scorer and n endpoints, every other
// one of which has served the first half of prompt.
func halfServed(tb testing.TB, prompt string, n int) (*PrefixCache, []framework.Endpoint) {
	tb.Helper()
	s, err := NewPrefixCache("", DefaultPrefixCacheConfig())
	if err != nil {
		tb.Fatal(err)
	}
	eps := testfleet.Upstream(n, "m")
	for i, ep := range eps {
		if i%2 == 0 {
			serve(s, prompt[:len(prompt)/2], ep)
		}
	}
	return s, eps
}

func prefixAllocs(t *testing.T, prompt string, want float64) {
	var perSize []float64
	for _, n := range []int{5, 100} {
		s, eps := halfServed(t, prompt, n)
		scores := make([]float64, n)
		ctx := context.Background()
		req := prefixReq(prompt)
		// The request is reset, not rebuilt, so that only Score's own
		// allocations are counted.
		a := testing.AllocsPerRun(100, func() {
			*req = framework.InferenceRequest{TargetModel: "m", Prompt: prompt}
			s.Score(ctx, req, eps, scores)
		})
		perSize = append(perSize, a)
		t.Logf("%d endpoints: %v allocs per Score", n, a)
	}
	if perSize[0] != perSize[1] {
		t.Errorf("allocs per Score depend on the fleet size: %v at 5 and 100 endpoints", perSize)
	}
	if perSize[1] != want {
		t.Errorf("allocs per Score = %v, want %v", perSize[1], want)
	}
}

// TestPrefixCacheManyEndpoints covers indexes larger than the on-stack match
// counts: results stay exact and the borrowed counts are cleared per request.
func TestPrefixCacheManyEndpoints(t *testing.T) {
	s := testPrefix(t, func(c *PrefixCacheConfig) { c.MaxEndpoints = 2 * countsOnStack })
	eps := testfleet.Upstream(countsOnStack+40, "m")
	for i, ep := range eps {
		switch i % 3 {
		case 0:
			serve(s, "aaaabbbb", ep)
		case 1:
			serve(s, "aaaa", ep)
		}
	}
	for range 3 { // the second and third requests reuse the pooled counts
		got := score(s, prefixReq("aaaabbbb"), eps)
		for i, v := range got {
			if want := []float64{1, 0.5, 0}[i%3]; v != want {
				t.Fatalf("endpoint %d scored %v, want %v", i, v, want)
			}
		}
	}
	req := prefixReq("aaaabbbb")
	scores := make([]float64, len(eps))
	a := testing.AllocsPerRun(100, func() {
		*req = framework.InferenceRequest{TargetModel: "m", Prompt: "aaaabbbb"}
		s.Score(context.Background(), req, eps, scores)
	})
	if a > 2 {
		t.Errorf("%v allocs per Score with pooled counts, want 2", a)
	}
}

func TestPrefixCacheMatchedBytes(t *testing.T) {
	s := testPrefix(t, nil)
	a := testfleet.Endpoint("ns/a", framework.Metrics{})
	serve(s, "aaaabbbb", a)
	for _, tc := range []struct {
		prompt, id string
		want       int
	}{
		{"aaaabbbbcccc", "ns/a", 8},
		{"aaaaxxxx", "ns/a", 4},
		{"xxxxbbbb", "ns/a", 0},
		{"aaaabbbb", "ns/b", 0},
	} {
		if got := s.MatchedBytes(prefixReq(tc.prompt), tc.id); got != tc.want {
			t.Errorf("MatchedBytes(%q, %s) = %d, want %d", tc.prompt, tc.id, got, tc.want)
		}
	}
}
