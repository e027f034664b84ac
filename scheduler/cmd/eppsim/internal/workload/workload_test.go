package workload

import (
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func newGen(t *testing.T, seed uint64) *Generator {
	t.Helper()
	g, err := New(DefaultConfig(seed, Targets(Catalog())))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func TestDeterministicForSeed(t *testing.T) {
	a, b, c := newGen(t, 1), newGen(t, 1), newGen(t, 2)
	differs := false
	for i := range 1200 { // a calm stretch and a surge
		ra, rb, rc := a.Next(), b.Next(), c.Next()
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("request %d differs for the same seed:\n%+v\n%+v", i, ra.ID, rb.ID)
		}
		differs = differs || ra.ID != rc.ID || ra.Prompt != rc.Prompt
	}
	if !differs {
		t.Error("seeds 1 and 2 generated the same requests")
	}
}

func TestTenantsSharePreamble(t *testing.T) {
	g := newGen(t, 3)
	first := map[string]Request{}
	var sameTenant, crossTenant []int
	for range 500 {
		r := g.Next()
		for tenant, prev := range first {
			n := commonPrefix(prev.Prompt, r.Prompt)
			if tenant == r.Tenant {
				sameTenant = append(sameTenant, n)
			} else {
				crossTenant = append(crossTenant, n)
			}
		}
		if _, ok := first[r.Tenant]; !ok {
			first[r.Tenant] = r
		}
	}
	if len(first) < 8 {
		t.Fatalf("only %d tenants in 500 requests", len(first))
	}
	// A system prompt is at least 300 words: well over 1500 characters.
	for _, n := range sameTenant {
		if n < 1500 {
			t.Fatalf("two requests of one tenant share %d leading characters, want a long preamble", n)
		}
	}
	// "System: You are the assistant of " plus the tenant name's first letters.
	for _, n := range crossTenant {
		if n > 64 {
			t.Fatalf("requests of two tenants share %d leading characters: a whole prefix block", n)
		}
	}
}

func TestSessionsExtendTheirPrompts(t *testing.T) {
	g := newGen(t, 4)
	last := map[string]Request{}
	ended := map[string]bool{}
	var continued, opened int
	for range 1000 {
		r := g.Next()
		if ended[r.SessionID] {
			t.Fatalf("session %s sent a request after it ended", r.SessionID)
		}
		prev, seen := last[r.SessionID]
		if r.NewSession {
			opened++
			if seen {
				t.Fatalf("session %s opened twice", r.SessionID)
			}
		} else {
			continued++
			if !seen {
				t.Fatalf("session %s continued before it opened", r.SessionID)
			}
			if prev.Tenant != r.Tenant || prev.Model != r.Model {
				t.Fatalf("session %s changed tenant or model", r.SessionID)
			}
			// The new prompt holds the previous one whole, its answer, then a new message.
			if !strings.HasPrefix(r.Prompt, prev.Prompt) || len(r.Prompt) <= len(prev.Prompt) {
				t.Fatalf("session %s: the prompt does not extend the previous turn", r.SessionID)
			}
		}
		last[r.SessionID] = r
		for _, id := range r.Ended {
			if _, ok := last[id]; !ok || ended[id] {
				t.Fatalf("session %s ended without being open", id)
			}
			ended[id] = true
		}
	}
	// Live sessions stay bounded: all but a tenant's newest few end.
	cfg := DefaultConfig(4, Targets(Catalog()))
	if live := len(last) - len(ended); live > cfg.Tenants*cfg.MaxSessionsPerTenant || len(ended) == 0 {
		t.Errorf("%d sessions opened, %d ended: %d live, want at most %d", len(last), len(ended), live, cfg.Tenants*cfg.MaxSessionsPerTenant)
	}
	if continued < 500 || opened < 100 {
		t.Errorf("%d continued and %d opened sessions in 1000 requests, want a mix around 70/30", continued, opened)
	}
}

func TestModelsAndPromptSizes(t *testing.T) {
	g := newGen(t, 5)
	targets := Targets(Catalog())
	seen := map[string]int{}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	ids := map[string]bool{}
	for range 3000 {
		r := g.Next()
		seen[r.Model]++
		if r.Adapter != "" && r.Adapter != r.Model {
			t.Fatalf("adapter request %q asks for model %q", r.Adapter, r.Model)
		}
		if !uuid.MatchString(r.ID) || ids[r.ID] {
			t.Fatalf("request id %q not a fresh UUIDv4", r.ID)
		}
		ids[r.ID] = true
		// 300+ words of system prompt to a history capped near 2500 words.
		if n := len(r.Prompt) / 4; n < 400 || n > 12_000 {
			t.Fatalf("prompt of about %d tokens, want 400..12000", n)
		}
		if r.OutputTokens < 30 || r.OutputTokens > 400 {
			t.Fatalf("%d output tokens", r.OutputTokens)
		}
	}
	for _, tg := range targets {
		if seen[tg.Model] == 0 {
			t.Errorf("target %s never requested", tg.Model)
		}
	}
	if len(seen) != len(targets) {
		t.Errorf("requested %d models, want the %d targets", len(seen), len(targets))
	}
}

// TestTrafficMatchesRequests: the popularity weights, without surges (a
// surge's tenant is drawn with the same weights, so Traffic holds in
// expectation, but 20 surges are too few draws for a 2% tolerance).
func TestTrafficMatchesRequests(t *testing.T) {
	cfg := DefaultConfig(6, Targets(Catalog()))
	cfg.SurgeEvery = 0
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	traffic := g.Traffic()
	var sum float64
	for _, f := range traffic {
		sum += f
	}
	if math.Abs(sum-1) > 1e-9 || len(traffic) != len(Catalog()) {
		t.Fatalf("traffic %v: want a fraction per base model summing to 1", traffic)
	}
	const n = 20_000
	counts := map[string]int{}
	for range n {
		counts[g.Next().BaseModel]++
	}
	for base, f := range traffic {
		if got := float64(counts[base]) / n; math.Abs(got-f) > 0.02 {
			t.Errorf("%s: %.3f of requests, Traffic says %.3f", base, got, f)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	targets := Targets(Catalog())
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{"no targets", func(c *Config) { c.Targets = nil }},
		{"fewer tenants than targets", func(c *Config) { c.Tenants = len(targets) - 1 }},
		{"no sessions", func(c *Config) { c.MaxSessionsPerTenant = 0 }},
		{"probability above 1", func(c *Config) { c.NewSessionProbability = 1.5 }},
		{"probability NaN", func(c *Config) { c.NewSessionProbability = math.NaN() }},
		{"no history", func(c *Config) { c.MaxHistoryWords = 0 }},
		{"negative surge period", func(c *Config) { c.SurgeEvery = -1 }},
		{"surge as long as its period", func(c *Config) { c.SurgeLength = c.SurgeEvery }},
		{"empty surge", func(c *Config) { c.SurgeLength = 0 }},
		{"surge share 0", func(c *Config) { c.SurgeShare = 0 }},
		{"surge slower than calm", func(c *Config) { c.SurgeRate = 0.5 }},
		{"surge rate infinite", func(c *Config) { c.SurgeRate = math.Inf(1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig(1, targets)
			tt.modify(&cfg)
			if _, err := New(cfg); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

// TestSurges: each period is calm, then ends with SurgeLength requests sent
// faster (Intensity) and mostly by one tenant, drawn anew for each surge.
func TestSurges(t *testing.T) {
	cfg := DefaultConfig(3, Targets(Catalog()))
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	calmLen := cfg.SurgeEvery - cfg.SurgeLength
	surgeTenants := map[string]bool{}
	for period := range 4 {
		byTenant := map[string]int{}
		for i := range cfg.SurgeEvery {
			intensity := g.Intensity()
			r := g.Next()
			wantSurge := i >= calmLen
			if r.Surge != wantSurge {
				t.Fatalf("period %d request %d: Surge %v, want %v", period, i, r.Surge, wantSurge)
			}
			if want := map[bool]float64{false: 1, true: cfg.SurgeRate}[wantSurge]; intensity != want {
				t.Fatalf("period %d request %d: Intensity %v, want %v", period, i, intensity, want)
			}
			if r.Surge {
				byTenant[r.Tenant]++
			}
		}
		top, topN := "", 0
		for name, n := range byTenant {
			if n > topN {
				top, topN = name, n
			}
		}
		// SurgeShare of the surge, plus the tenant's own calm share of the
		// rest; 0.6 is more than three standard deviations below 0.7.
		if share := float64(topN) / float64(cfg.SurgeLength); share < cfg.SurgeShare-0.1 {
			t.Errorf("period %d: the surge's busiest tenant %s sent %.2f of it, want about %v or more", period, top, share, cfg.SurgeShare)
		}
		surgeTenants[top] = true
	}
	if len(surgeTenants) < 2 {
		t.Errorf("four surges all from %v: the tenant must be drawn per surge", surgeTenants)
	}

	cfg.SurgeEvery = 0
	g, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if g.Intensity() != 1 || g.Next().Surge {
			t.Fatalf("request %d: a surge with SurgeEvery 0", i)
		}
	}
}
