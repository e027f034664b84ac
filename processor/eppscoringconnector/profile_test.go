package eppscoringconnector

import (
	"bufio"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// readFixture returns the export requests of an upstream EPP fixture, one
// ptrace.Traces per JSON line, as the collector received them.
func readFixture(t *testing.T, name string) []ptrace.Traces {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "upstream-epp", name))
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var out []ptrace.Traces
	var um ptrace.JSONUnmarshaler
	for sc.Scan() {
		td, err := um.UnmarshalTraces(sc.Bytes())
		require.NoError(t, err)
		out = append(out, td)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

// seriesKey names a scorer or chain series by the attributes under test.
type seriesKey struct{ typ, model, profile string }

// fixtureTruth walks a fixture's spans the simple way (maps over every
// span, across batches) and counts scorer invocations and chains by type,
// model and profile: what the connector must find with its streaming join.
func fixtureTruth(batches []ptrace.Traces) (scorers, chains map[seriesKey]int64) {
	type spanRef struct {
		name   string
		parent pcommon.SpanID
		attrs  pcommon.Map
	}
	all := map[[24]byte]spanRef{}
	key := func(tr pcommon.TraceID, id pcommon.SpanID) (k [24]byte) {
		copy(k[:16], tr[:])
		copy(k[16:], id[:])
		return k
	}
	var order []ptrace.Span
	for _, td := range batches {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			sss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				for k := 0; k < sss.At(j).Spans().Len(); k++ {
					sp := sss.At(j).Spans().At(k)
					all[key(sp.TraceID(), sp.SpanID())] = spanRef{name: sp.Name(), parent: sp.ParentSpanID(), attrs: sp.Attributes()}
					order = append(order, sp)
				}
			}
		}
	}
	str := func(m pcommon.Map, k string) string {
		if v, ok := m.Get(k); ok {
			return v.Str()
		}
		return ""
	}
	profileOf := func(tr pcommon.TraceID, scoringParent pcommon.SpanID) string {
		p, ok := all[key(tr, scoringParent)]
		if !ok || p.name != schema.SpanRunSchedulerProfile {
			return ""
		}
		return str(p.attrs, schema.AttrProfileName)
	}
	scorers, chains = map[seriesKey]int64{}, map[seriesKey]int64{}
	for _, sp := range order {
		switch schema.Classify(sp.Name()) {
		case schema.Scoring:
			chains[seriesKey{model: str(sp.Attributes(), schema.AttrRequestModel), profile: profileOf(sp.TraceID(), sp.ParentSpanID())}]++
		case schema.Scorer:
			parent := all[key(sp.TraceID(), sp.ParentSpanID())]
			scorers[seriesKey{
				typ:     str(sp.Attributes(), schema.AttrScorerType),
				model:   str(parent.attrs, schema.AttrRequestModel),
				profile: profileOf(sp.TraceID(), parent.parent),
			}]++
		}
	}
	return scorers, chains
}

// seriesCounts sums a flush's calls and chain counts by type, model and
// profile.
func seriesCounts(md pmetric.Metrics) (scorers, chains map[seriesKey]int64) {
	scorers, chains = map[seriesKey]int64{}, map[seriesKey]int64{}
	forEachMetric(md, func(_ pcommon.Resource, m pmetric.Metric) {
		switch m.Name() {
		case schema.MetricScorerCalls:
			for i := 0; i < m.Sum().DataPoints().Len(); i++ {
				dp := m.Sum().DataPoints().At(i)
				a := dp.Attributes()
				scorers[seriesKey{attrString(a, schema.AttrScorerType), attrString(a, schema.AttrRequestModel), attrString(a, schema.AttrProfileName)}] += dp.IntValue()
			}
		case schema.MetricScoringDuration:
			for i := 0; i < m.Histogram().DataPoints().Len(); i++ {
				dp := m.Histogram().DataPoints().At(i)
				a := dp.Attributes()
				chains[seriesKey{"", attrString(a, schema.AttrRequestModel), attrString(a, schema.AttrProfileName)}] += int64(dp.Count())
			}
		}
	})
	return scorers, chains
}

// TestProfilesFromUpstreamFixtures replays upstream's own traces, batch by
// batch as they were exported (traces straddle batches): with
// prefill/decode disaggregation every trace holds two chains, and each
// scorer's and chain's series must carry its own profile, with the counts
// a full walk of the fixture finds.
func TestProfilesFromUpstreamFixtures(t *testing.T) {
	tests := []struct {
		file     string
		profiles []string
	}{
		{file: "epp-61d66c47-disagg.jsonl.gz", profiles: []string{"decode", "prefill"}},
		{file: "epp-61d66c47.jsonl.gz", profiles: []string{"default"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			batches := readFixture(t, tt.file)
			wantScorers, wantChains := fixtureTruth(batches)
			h := newHarness(t, nil)
			for _, td := range batches {
				h.consume(t, td)
			}
			assert.Zero(t, h.c.agg.join.used, "nothing waits once the fixture is in")
			md := h.flush(t)
			gotScorers, gotChains := seriesCounts(md)
			assert.Equal(t, wantScorers, gotScorers)
			assert.Equal(t, wantChains, gotChains)

			// The fixture's truth itself: every chain has a profile, and
			// each profile ran 200 times (one per trace).
			perProfile := map[string]int64{}
			for k, n := range gotChains {
				perProfile[k.profile] += n
			}
			want := map[string]int64{}
			for _, p := range tt.profiles {
				want[p] = 200
			}
			assert.Equal(t, want, perProfile)
			for k := range gotScorers {
				assert.NotEmpty(t, k.model, "%v: the model was joined", k)
			}
			assert.EqualValues(t, 200*len(tt.profiles), h.counter(t, "otelcol_connector_eppscoring_profile_join_matched", "", ""))
			assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_profile_join_unmatched", "", ""))
			assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_join_unmatched", "", ""))
		})
	}
}

// upstreamTrace builds one request as upstream's scheduler emits it, in
// upstream's scope: per profile, a run_scheduler_profile span over a
// scoring span over its scorers.
type upstreamTrace struct {
	trace  pcommon.TraceID
	chains []upstreamChain
}

type upstreamChain struct {
	profile string
	model   string
	scorers []string // types
	n       byte     // distinguishes the chain's span ids
}

func (c upstreamChain) profileID() pcommon.SpanID { return pcommon.SpanID{0x9, c.n} }
func (c upstreamChain) scoringID() pcommon.SpanID { return pcommon.SpanID{0xA, c.n} }

// newUpstreamSpans returns an empty batch in upstream's scheduling scope.
func newUpstreamSpans() (ptrace.Traces, ptrace.SpanSlice) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "epp")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(schema.ScopeUpstreamScheduling)
	return td, ss.Spans()
}

func (u upstreamTrace) addScorers(spans ptrace.SpanSlice, c upstreamChain) {
	start := pcommon.NewTimestampFromTime(baseTime)
	for i, typ := range c.scorers {
		sp := spans.AppendEmpty()
		sp.SetName(schema.ScorerSpanPrefix + typ)
		sp.SetTraceID(u.trace)
		sp.SetSpanID(pcommon.SpanID{0xB, c.n, byte(i)})
		sp.SetParentSpanID(c.scoringID())
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + pcommon.Timestamp(10*time.Microsecond))
		sp.Attributes().PutStr(schema.AttrScorerType, typ)
		sp.Attributes().PutStr(schema.AttrScorerName, typ)
	}
}

func (u upstreamTrace) addScoring(spans ptrace.SpanSlice, c upstreamChain) {
	start := pcommon.NewTimestampFromTime(baseTime)
	sp := spans.AppendEmpty()
	sp.SetName(schema.SpanScoring)
	sp.SetTraceID(u.trace)
	sp.SetSpanID(c.scoringID())
	sp.SetParentSpanID(c.profileID())
	sp.SetStartTimestamp(start)
	sp.SetEndTimestamp(start + pcommon.Timestamp(100*time.Microsecond))
	sp.Attributes().PutStr(schema.AttrRequestModel, c.model)
	sp.Attributes().PutInt(schema.AttrScoringCandidates, 4)
}

func (u upstreamTrace) addProfile(spans ptrace.SpanSlice, c upstreamChain) {
	start := pcommon.NewTimestampFromTime(baseTime)
	sp := spans.AppendEmpty()
	sp.SetName(schema.SpanRunSchedulerProfile)
	sp.SetTraceID(u.trace)
	sp.SetSpanID(c.profileID())
	sp.SetParentSpanID(pcommon.SpanID{0xFF})
	sp.SetStartTimestamp(start)
	sp.SetEndTimestamp(start + pcommon.Timestamp(200*time.Microsecond))
	sp.Attributes().PutStr(schema.AttrProfileName, c.profile)
}

var (
	prefillChain = upstreamChain{profile: "prefill", model: "llama", scorers: []string{"prefix-cache-scorer", "queue-scorer"}, n: 1}
	decodeChain  = upstreamChain{profile: "decode", model: "llama", scorers: []string{"prefix-cache-scorer", "kv-cache-utilization-scorer", "queue-scorer"}, n: 2}
	disaggTrace  = upstreamTrace{trace: pcommon.TraceID{0xD1, 0x5A}, chains: []upstreamChain{decodeChain, prefillChain}}
)

// TestProfileJoinAcrossBatches: the run_scheduler_profile parent (and the
// scoring span) may arrive in later batches than the chain's scorers; the
// series wait for it and carry the right profile.
func TestProfileJoinAcrossBatches(t *testing.T) {
	u := disaggTrace
	wantScorers := map[seriesKey]int64{
		{"prefix-cache-scorer", "llama", "prefill"}: 1, {"queue-scorer", "llama", "prefill"}: 1,
		{"prefix-cache-scorer", "llama", "decode"}: 1, {"kv-cache-utilization-scorer", "llama", "decode"}: 1,
		{"queue-scorer", "llama", "decode"}: 1,
	}
	wantChains := map[seriesKey]int64{{"", "llama", "prefill"}: 1, {"", "llama", "decode"}: 1}
	tests := []struct {
		name    string
		batches []func(ptrace.SpanSlice) // each builds one batch
	}{
		{name: "one_batch", batches: []func(ptrace.SpanSlice){func(s ptrace.SpanSlice) {
			for _, c := range u.chains {
				u.addScorers(s, c)
				u.addScoring(s, c)
				u.addProfile(s, c)
			}
		}}},
		{name: "profiles_in_later_batch", batches: []func(ptrace.SpanSlice){
			func(s ptrace.SpanSlice) {
				for _, c := range u.chains {
					u.addScorers(s, c)
					u.addScoring(s, c)
				}
			},
			func(s ptrace.SpanSlice) {
				for _, c := range u.chains {
					u.addProfile(s, c)
				}
			},
		}},
		{name: "scoring_and_profiles_each_later", batches: []func(ptrace.SpanSlice){
			func(s ptrace.SpanSlice) {
				for _, c := range u.chains {
					u.addScorers(s, c)
				}
			},
			func(s ptrace.SpanSlice) {
				for _, c := range u.chains {
					u.addScoring(s, c)
				}
			},
			func(s ptrace.SpanSlice) {
				u.addProfile(s, u.chains[1])
				u.addProfile(s, u.chains[0])
			},
		}},
		{name: "profile_before_chain_in_batch", batches: []func(ptrace.SpanSlice){func(s ptrace.SpanSlice) {
			for _, c := range u.chains {
				u.addProfile(s, c)
				u.addScoring(s, c)
				u.addScorers(s, c)
			}
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			for i, build := range tt.batches {
				td, spans := newUpstreamSpans()
				build(spans)
				h.consume(t, td)
				if i < len(tt.batches)-1 {
					assert.Equal(t, 0, h.flush(t).DataPointCount(), "batch %d: the chains wait for their profile", i+1)
					h.clk.Advance(time.Second)
				}
			}
			gotScorers, gotChains := seriesCounts(h.flush(t))
			assert.Equal(t, wantScorers, gotScorers)
			assert.Equal(t, wantChains, gotChains)
			assert.EqualValues(t, 2, h.counter(t, "otelcol_connector_eppscoring_profile_join_matched", "", ""))
			assert.Zero(t, h.c.agg.join.used)
			assert.Zero(t, h.c.agg.profileWaits)
		})
	}
}

// TestProfileNeverComes: a chain whose run_scheduler_profile parent is
// lost is emitted without a profile after parent_join.timeout, counted.
func TestProfileNeverComes(t *testing.T) {
	h := newHarness(t, nil)
	td, spans := newUpstreamSpans()
	u := disaggTrace
	u.addScorers(spans, prefillChain)
	u.addScoring(spans, prefillChain)
	h.consume(t, td)
	assert.Equal(t, 0, h.flush(t).DataPointCount())
	h.clk.Advance(defaultJoinTimeout)
	gotScorers, gotChains := seriesCounts(h.flush(t))
	assert.Equal(t, map[seriesKey]int64{{"prefix-cache-scorer", "llama", ""}: 1, {"queue-scorer", "llama", ""}: 1}, gotScorers)
	assert.Equal(t, map[seriesKey]int64{{"", "llama", ""}: 1}, gotChains)
	assert.EqualValues(t, 1, h.counter(t, "otelcol_connector_eppscoring_profile_join_unmatched", "reason", "timeout"))
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_join_unmatched", "", ""), "the model join held")
	assert.Zero(t, h.c.agg.profileWaits)
}

// TestNoProfileOutsideUpstreamScopes: chains of other scopes (this repo's
// scheduler, whose scoring span's parent is the caller's span) do not wait
// for a profile: recorded within their batch, as before profiles existed.
func TestNoProfileOutsideUpstreamScopes(t *testing.T) {
	h := newHarness(t, nil)
	td, spans := newTraces() // this repo's scheduler: no upstream scope
	addChildren(spans, reqLlama)
	addParent(spans, reqLlama)
	h.consume(t, td)
	assert.Zero(t, h.c.agg.join.used)
	gotScorers, gotChains := seriesCounts(h.flush(t))
	assert.Len(t, gotScorers, 4)
	for k, n := range gotScorers {
		assert.Equal(t, seriesKey{k.typ, "llama-3-8b", ""}, k)
		assert.EqualValues(t, 1, n)
	}
	assert.Equal(t, map[seriesKey]int64{{"", "llama-3-8b", ""}: 1}, gotChains)
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_profile_join_unmatched", "", ""))
}

// TestProfileCardinalityBounded: profile names are bounded by the
// cardinality limit like every other dimension.
func TestProfileCardinalityBounded(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AggregationCardinalityLimit = 3 })
	td, spans := newUpstreamSpans()
	for i := range 10 {
		c := upstreamChain{profile: string(rune('a' + i)), model: "m", scorers: []string{"queue-scorer"}, n: byte(i)}
		u := upstreamTrace{trace: pcommon.TraceID{0xC, byte(i)}}
		u.addScorers(spans, c)
		u.addScoring(spans, c)
		u.addProfile(spans, c)
	}
	h.consume(t, td)
	assert.LessOrEqual(t, h.c.agg.nScorers, 3)
	assert.LessOrEqual(t, h.c.agg.nChains, 3)
	assert.EqualValues(t, 7, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "family", "scorer"))
	assert.EqualValues(t, 7, h.counter(t, "otelcol_connector_eppscoring_series_overflow", "family", "scoring"))
}

// newScopedSpans returns an empty batch in the given instrumentation scope.
func newScopedSpans(scope string) (ptrace.Traces, ptrace.SpanSlice) {
	td, spans := newUpstreamSpans()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Scope().SetName(scope)
	return td, spans
}

// TestProfilesOfOtherScopes: a scope that is not upstream's (this
// repository's scheduler, whose chains may or may not run under a profile)
// gets the profile of a run_scheduler_profile parent in the chain's own
// batch; once it has sent one, its chains wait for it across batches too.
func TestProfilesOfOtherScopes(t *testing.T) {
	h := newHarness(t, nil)
	u := disaggTrace
	// Batch 1: whole chains, each followed by its profile span.
	td, spans := newScopedSpans(schema.ScopeScheduler)
	for _, c := range u.chains {
		u.addScorers(spans, c)
		u.addScoring(spans, c)
		u.addProfile(spans, c)
	}
	h.consume(t, td)
	// Batch 2 and 3: another request whose profile spans come a batch
	// later; the scope is known by now, so its chains wait.
	u2 := upstreamTrace{trace: pcommon.TraceID{0xD2}, chains: []upstreamChain{
		{profile: "decode", model: "llama", scorers: []string{"queue-scorer"}, n: 7},
	}}
	td, spans = newScopedSpans(schema.ScopeScheduler)
	u2.addScorers(spans, u2.chains[0])
	u2.addScoring(spans, u2.chains[0])
	h.consume(t, td)
	assert.Positive(t, h.c.agg.join.used, "the chain waits for its profile")
	td, spans = newScopedSpans(schema.ScopeScheduler)
	u2.addProfile(spans, u2.chains[0])
	h.consume(t, td)

	gotScorers, gotChains := seriesCounts(h.flush(t))
	assert.Equal(t, map[seriesKey]int64{
		{"prefix-cache-scorer", "llama", "prefill"}: 1, {"queue-scorer", "llama", "prefill"}: 1,
		{"prefix-cache-scorer", "llama", "decode"}: 1, {"kv-cache-utilization-scorer", "llama", "decode"}: 1,
		{"queue-scorer", "llama", "decode"}: 2,
	}, gotScorers)
	assert.Equal(t, map[seriesKey]int64{{"", "llama", "prefill"}: 1, {"", "llama", "decode"}: 2}, gotChains)
	assert.Zero(t, h.c.agg.join.used)
	assert.Zero(t, h.c.agg.profileWaits)
}

// TestChainUnderAnotherParent: in a scope whose run_scheduler_profile spans
// never parented a chain, a chain under another parent (a request
// span) is recorded at the end of its batch without a profile, and
// nothing waits or counts as unmatched.
func TestChainUnderAnotherParent(t *testing.T) {
	h := newHarness(t, nil)
	// A run_scheduler_profile span that parents no chain does not make its
	// scope's chains wait.
	td, spans := newScopedSpans(schema.ScopeScheduler)
	upstreamTrace{trace: pcommon.TraceID{0xD4}}.addProfile(spans, upstreamChain{profile: "decode", n: 9})
	h.consume(t, td)
	assert.Empty(t, h.c.agg.profileScopes)

	td, spans = newScopedSpans(schema.ScopeScheduler)
	c := upstreamChain{model: "llama", scorers: []string{"queue-scorer", "prefix-cache-scorer"}, n: 3}
	u := upstreamTrace{trace: pcommon.TraceID{0xD3}}
	u.addScorers(spans, c)
	u.addScoring(spans, c) // its parent id is c.profileID(), never sent
	h.consume(t, td)
	assert.Zero(t, h.c.agg.join.used, "nothing waits beyond the batch")
	gotScorers, gotChains := seriesCounts(h.flush(t))
	assert.Equal(t, map[seriesKey]int64{{"queue-scorer", "llama", ""}: 1, {"prefix-cache-scorer", "llama", ""}: 1}, gotScorers)
	assert.Equal(t, map[seriesKey]int64{{"", "llama", ""}: 1}, gotChains)
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_profile_join_unmatched", "", ""))
	assert.Zero(t, h.counter(t, "otelcol_connector_eppscoring_join_unmatched", "", ""))
	assert.Zero(t, h.c.agg.profileWaits)
}
