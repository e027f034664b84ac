package fleet

import (
	"errors"
	"maps"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scorelens/scorelens/scheduler/framework"
)

const ms = time.Millisecond

// testServer is a server with round numbers: a 1200-token prompt prefills
// in 100 ms, 10 output tokens decode in 100 ms, no batch slowdown.
func testServer() ServerConfig {
	return ServerConfig{
		MaxRunning:             2,
		KVCacheTokens:          10_000,
		MaxLoRAs:               2,
		LoRALoadTime:           50 * ms,
		PrefillTokensPerSecond: 12_000,
		DecodeTokenTime:        10 * ms,
		BatchSlowdown:          0,
		PrefixCacheBlocks:      1_000,
		MaxWaiting:             100,
	}
}

func newTestFleet(t *testing.T, sc ServerConfig, replicas int) (*Fleet, []framework.Endpoint) {
	t.Helper()
	f, err := New(Config{
		Namespace: "llm-d",
		Pools:     []Pool{{Deployment: "vllm-llama-3-8b", BaseModel: "meta-llama/Llama-3.1-8B-Instruct", Replicas: replicas}},
		Server:    sc,
		Seed:      7,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, f.Candidates("meta-llama/Llama-3.1-8B-Instruct")
}

func newJob(adapter string) Job { return Job{Adapter: adapter, PromptTokens: 1200, OutputTokens: 10} }

func route(t *testing.T, f *Fleet, ep framework.Endpoint, jobs ...Job) {
	t.Helper()
	for _, j := range jobs {
		if err := f.Route(ep, j); err != nil {
			t.Fatal(err)
		}
	}
}

type state struct{ waiting, running int }

func stateOf(ep framework.Endpoint) state {
	m := ep.GetMetrics()
	return state{m.WaitingQueueSize, m.RunningRequestsSize}
}

func TestQueueGrowsAndDrains(t *testing.T) {
	f, eps := newTestFleet(t, testServer(), 1)
	ep := eps[0]
	route(t, f, ep, newJob(""), newJob(""), newJob(""), newJob(""), newJob(""))
	// Two run (batch of 2), each 100 ms prefill + 100 ms decode.
	steps := []struct {
		at   time.Duration
		want state
		done int
	}{
		{0, state{3, 2}, 0},
		{199 * ms, state{3, 2}, 0},
		{200 * ms, state{1, 2}, 2},
		{400 * ms, state{0, 1}, 4},
		{599 * ms, state{0, 1}, 4},
		{600 * ms, state{0, 0}, 5},
	}
	for _, s := range steps {
		f.Advance(s.at)
		if got := stateOf(ep); got != s.want || f.Stats().Completed != s.done {
			t.Errorf("at %v: state %+v completed %d, want %+v completed %d", s.at, got, f.Stats().Completed, s.want, s.done)
		}
	}
	if got := f.Stats().MaxWaiting; got != 3 {
		t.Errorf("MaxWaiting = %d, want 3", got)
	}
}

func TestFullQueueRejects(t *testing.T) {
	sc := testServer()
	sc.MaxWaiting = 2
	f, eps := newTestFleet(t, sc, 1)
	route(t, f, eps[0], newJob(""), newJob(""), newJob(""), newJob("")) // two run, two wait
	if err := f.Route(eps[0], newJob("")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Route to a full queue: %v, want ErrQueueFull", err)
	}
	if got := f.Stats(); got.Rejected != 1 || got.Routed != 5 {
		t.Errorf("stats %+v, want 5 routed and 1 rejected", got)
	}
	f.Advance(200 * ms) // two finish, two start: the queue has room again
	route(t, f, eps[0], newJob(""))
}

func TestKVCacheRisesAndFalls(t *testing.T) {
	sc := testServer()
	sc.MaxRunning = 8
	sc.KVCacheTokens = 3 * 1210 // room for three jobs
	f, eps := newTestFleet(t, sc, 1)
	ep := eps[0]
	kv := func() float64 { return ep.GetMetrics().KVCacheUsagePercent }

	var prev float64
	for i := range 3 {
		route(t, f, ep, newJob(""))
		if kv() <= prev {
			t.Fatalf("after job %d KV usage %v, want above %v", i+1, kv(), prev)
		}
		prev = kv()
	}
	if want := 1.0; kv() != want {
		t.Errorf("KV usage %v with three jobs, want %v", kv(), want)
	}
	// The fourth does not fit: it waits although the batch has room.
	route(t, f, ep, newJob(""))
	if got := stateOf(ep); got != (state{1, 3}) {
		t.Errorf("state %+v, want one waiting on KV space, three running", got)
	}
	f.Advance(200 * ms)
	if got := stateOf(ep); got != (state{0, 1}) {
		t.Errorf("state %+v after the first three finished, want the fourth running", got)
	}
	if got, want := kv(), 1.0/3; got != want {
		t.Errorf("KV usage %v, want %v", got, want)
	}
	f.Advance(time.Second)
	if got := kv(); got != 0 {
		t.Errorf("KV usage %v when idle, want 0", got)
	}
}

func TestAdaptersLoadOnDemandAndEvict(t *testing.T) {
	f, eps := newTestFleet(t, testServer(), 1)
	ep := eps[0]
	m := ep.GetMetrics()
	if m.MaxActiveModels != 2 {
		t.Fatalf("MaxActiveModels %d, want 2", m.MaxActiveModels)
	}
	route(t, f, ep, newJob("sql-lora"), newJob("chat-lora"))
	if want := map[string]int{"sql-lora": 1, "chat-lora": 1}; !maps.Equal(m.ActiveModels, want) {
		t.Errorf("ActiveModels %v, want %v", m.ActiveModels, want)
	}
	// Both slots hold adapters in use: a third adapter waits.
	f.Advance(10 * ms)
	route(t, f, ep, newJob("summarize-lora"))
	if want := map[string]int{"summarize-lora": 1}; !maps.Equal(m.WaitingModels, want) {
		t.Errorf("WaitingModels %v, want %v", m.WaitingModels, want)
	}
	// Loading takes 50 ms, so the first two end at 250 ms; then the least
	// recently used idle adapter goes.
	f.Advance(249 * ms)
	if got := stateOf(ep); got != (state{1, 2}) {
		t.Errorf("state %+v at 249ms, want the adapters' jobs still running", got)
	}
	f.Advance(250 * ms)
	if got := f.Stats(); got.AdapterLoads != 3 || got.AdapterEvictions != 1 {
		t.Errorf("loads %d evictions %d, want 3 and 1", got.AdapterLoads, got.AdapterEvictions)
	}
	if len(m.ActiveModels) != 2 || m.ActiveModels["summarize-lora"] != 1 || len(m.WaitingModels) != 0 {
		t.Errorf("ActiveModels %v WaitingModels %v, want summarize-lora loaded and running", m.ActiveModels, m.WaitingModels)
	}
	// A loaded adapter is reused without another load.
	route(t, f, ep, newJob("summarize-lora"))
	if got := f.Stats().AdapterLoads; got != 3 {
		t.Errorf("loads %d after reusing a loaded adapter, want 3", got)
	}
}

func TestPrefixCacheShortensPrefill(t *testing.T) {
	f, eps := newTestFleet(t, testServer(), 2)
	prompt := strings.Repeat("You are a helpful assistant. ", 200)
	j := Job{PromptTokens: Tokens(prompt), OutputTokens: 10, Blocks: BlockHashes(nil, prompt)}
	route(t, f, eps[0], j)
	f.Advance(time.Second)
	if got := f.Stats().CachedPromptTokens; got != 0 {
		t.Fatalf("cached tokens %d on a cold cache, want 0", got)
	}
	route(t, f, eps[0], j)
	wantCached := int64(len(j.Blocks) * BlockTokens)
	if got := f.Stats().CachedPromptTokens; got != wantCached {
		t.Errorf("cached tokens %d on a warm cache, want %d", got, wantCached)
	}
	// The other endpoint has not seen the prompt.
	route(t, f, eps[1], j)
	if got := f.Stats().CachedPromptTokens; got != wantCached {
		t.Errorf("cached tokens %d after a cold endpoint, want still %d", got, wantCached)
	}
	// Warm: 100 ms decode plus the uncached tail only; cold: full prefill.
	f.Advance(time.Second + 101*ms)
	if got := stateOf(eps[0]); got != (state{0, 0}) {
		t.Errorf("warm endpoint %+v at +101ms, want done", got)
	}
	if got := stateOf(eps[1]); got != (state{0, 1}) {
		t.Errorf("cold endpoint %+v at +101ms, want still prefilling", got)
	}
}

func TestBlockHashesChainPrefixes(t *testing.T) {
	a := strings.Repeat("a", 3*BlockChars) + "tail"
	b := strings.Repeat("a", 2*BlockChars) + strings.Repeat("b", BlockChars)
	ha, hb := BlockHashes(nil, a), BlockHashes(nil, b)
	if len(ha) != 3 || len(hb) != 3 {
		t.Fatalf("got %d and %d blocks, want 3 full blocks each", len(ha), len(hb))
	}
	if ha[0] != hb[0] || ha[1] != hb[1] || ha[2] == hb[2] {
		t.Errorf("hashes %x and %x: want the first two equal and the third different", ha, hb)
	}
	// Same block content after a different prefix hashes differently.
	c := strings.Repeat("b", BlockChars) + strings.Repeat("a", BlockChars)
	if hc := BlockHashes(nil, c); hc[1] == ha[1] {
		t.Error("block 1 hashes alike after different prefixes")
	}
}

func TestBlockLRUEvictsLeastRecentlyUsed(t *testing.T) {
	c := newBlockLRU(3)
	c.add([]uint64{1, 2, 3})
	c.match([]uint64{1}) // 1 becomes most recent; 2 is now the oldest
	c.add([]uint64{4})
	if got := c.match([]uint64{1}); got != 1 {
		t.Errorf("block 1 evicted after use")
	}
	if got := c.match([]uint64{2}); got != 0 {
		t.Errorf("block 2 kept, want it evicted as least recently used")
	}
	if c.len() != 3 {
		t.Errorf("len %d, want capacity 3", c.len())
	}
}

func TestScrapeIntervalDelaysSnapshot(t *testing.T) {
	f, err := New(Config{
		Namespace:      "llm-d",
		Pools:          []Pool{{Deployment: "vllm-qwen2-7b", BaseModel: "Qwen/Qwen2.5-7B-Instruct", Replicas: 1}},
		Server:         testServer(),
		ScrapeInterval: 50 * ms,
	})
	if err != nil {
		t.Fatal(err)
	}
	ep := f.Endpoints()[0]
	route(t, f, ep, newJob(""))
	if got := stateOf(ep); got != (state{}) {
		t.Errorf("snapshot %+v before the next scrape, want the old idle one", got)
	}
	f.Advance(49 * ms)
	if got := stateOf(ep); got != (state{}) {
		t.Errorf("snapshot %+v at 49ms, want the old idle one", got)
	}
	f.Advance(50 * ms)
	if got := stateOf(ep); got != (state{0, 1}) {
		t.Errorf("snapshot %+v at 50ms, want the running job", got)
	}
}

var podName = regexp.MustCompile(`^(vllm-llama-3-8b|vllm-qwen2-7b)-[` + podAlphabet + `]{9}-[` + podAlphabet + `]{5}$`)

func TestIdentitiesLookLikePods(t *testing.T) {
	cfg := Config{
		Namespace: "llm-d",
		Pools: []Pool{
			{Deployment: "vllm-llama-3-8b", BaseModel: "meta-llama/Llama-3.1-8B-Instruct", Replicas: 50},
			{Deployment: "vllm-qwen2-7b", BaseModel: "Qwen/Qwen2.5-7B-Instruct", Replicas: 50},
		},
		Server: testServer(),
		Seed:   42,
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	names, ips := map[string]bool{}, map[string]bool{}
	for _, ep := range f.Endpoints() {
		md := ep.Metadata
		if !podName.MatchString(md.Name) {
			t.Errorf("pod name %q does not look like a Deployment's pod", md.Name)
		}
		if md.ID != "llm-d/"+md.Name {
			t.Errorf("ID %q, want llm-d/%s", md.ID, md.Name)
		}
		addr, err := netip.ParseAddr(md.Address)
		if err != nil || !netip.MustParsePrefix("10.0.0.0/8").Contains(addr) {
			t.Errorf("address %q not in 10.0.0.0/8", md.Address)
		}
		if md.Port != 8000 {
			t.Errorf("port %d, want 8000", md.Port)
		}
		if names[md.Name] || ips[md.Address] {
			t.Errorf("duplicate identity %s %s", md.Name, md.Address)
		}
		names[md.Name], ips[md.Address] = true, true
	}
	if n := len(f.Candidates("Qwen/Qwen2.5-7B-Instruct")); n != 50 {
		t.Errorf("qwen pool has %d endpoints, want 50", n)
	}

	same, _ := New(cfg)
	cfg.Seed = 43
	other, _ := New(cfg)
	if a, b := same.Endpoints()[7].Metadata, f.Endpoints()[7].Metadata; a.ID != b.ID || a.Address != b.Address {
		t.Error("same seed, different identities")
	}
	if other.Endpoints()[7].Metadata.Name == f.Endpoints()[7].Metadata.Name {
		t.Error("different seeds, same pod name")
	}
}

func TestConfigValidation(t *testing.T) {
	pool := []Pool{{Deployment: "d", BaseModel: "m", Replicas: 1}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no pools", Config{Server: testServer()}},
		{"no replicas", Config{Pools: []Pool{{Deployment: "d", BaseModel: "m"}}, Server: testServer()}},
		{"model twice", Config{Pools: append(pool, Pool{Deployment: "e", BaseModel: "m", Replicas: 1}), Server: testServer()}},
		{"zero queue", Config{Pools: pool, Server: func() ServerConfig { s := testServer(); s.MaxWaiting = 0; return s }()}},
		{"zero batch", Config{Pools: pool, Server: func() ServerConfig { s := testServer(); s.MaxRunning = 0; return s }()}},
		{"zero prefill", Config{Pools: pool, Server: func() ServerConfig { s := testServer(); s.PrefillTokensPerSecond = 0; return s }()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}
