package eppscoringconnector

import (
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// resourceEntry is one emitted ResourceMetrics: the resources of incoming
// spans that agree on the key attributes share it.
type resourceEntry struct {
	hash     uint64
	attrs    pcommon.Map // copy of the key attributes, emitted as the resource
	lastSeen int64
	pending  int // observations waiting in the join that point here
	scorers  []*scorerSeries
	chains   []*chainSeries
}

// scorerKey identifies a scorer series. Go map lookups with a struct key of
// strings hash the strings in place and do not allocate.
type scorerKey struct {
	res         *resourceEntry
	typ, name   string
	model       string
	profile     string
	method      uint8 // sampling.method, methodNone when disabled
	overflowing bool
}

// chainKey identifies a scoring (chain) series.
type chainKey struct {
	res         *resourceEntry
	model       string
	profile     string
	method      uint8
	overflowing bool
}

// durationHist is the duration histogram of a series: explicit or
// exponential, decided once by the config.
type durationHist struct {
	explicit explicitHist
	expo     expoHist
}

type scorerSeries struct {
	key      scorerKey
	start    uint64 // start of the current data point (creation or, in delta, last flush)
	lastSeen int64
	dirty    bool // observed since the last flush
	duration durationHist
	errors   uint64
	scoreMax explicitHist
	scoreAvg explicitHist
	// decided counts the invocations that carried the decision flag,
	// decisive those where it was true.
	decided, decisive uint64
	exemplars         exemplarRing
}

type chainSeries struct {
	key        chainKey
	start      uint64
	lastSeen   int64
	dirty      bool
	duration   durationHist
	candidates explicitHist
	// decided counts the chains that carried the decision signals, ties
	// those whose best total was shared; margin is their margins.
	decided, ties uint64
	margin        explicitHist
	exemplars     exemplarRing
	// kids are the scorer series this chain's scorers were recorded in:
	// a scorer recorded with its chain finds its series here by type and
	// name alone (see scorerSeriesOf). They hold while kidsGen equals the
	// aggregator's, which expiry bumps.
	kids    []*scorerSeries
	kidsGen uint32
}

// maxKids bounds a chain series' kids: upstream's profiles run a handful
// of scorers; chains with more look the rest up by key.
const maxKids = 16

func (h *durationHist) reset() {
	h.explicit.reset()
	h.expo.reset()
}

func (a *aggregator) newDuration() durationHist {
	if a.expoMax > 0 {
		return durationHist{expo: newExpoHist(a.expoMax)}
	}
	return durationHist{explicit: newExplicitHist(len(a.bounds))}
}

// recordDuration adds n observations of v (n is the adjusted count).
func (a *aggregator) recordDuration(h *durationHist, v float64, n uint64) {
	if a.expoMax > 0 {
		h.expo.record(v, n)
	} else {
		h.explicit.record(&a.buckets, v, n)
	}
}

// resourceFor returns the entry of a span batch's resource, creating it
// while fewer than the cardinality limit exist; beyond it, the overflow
// resource. It runs once per ResourceSpans that holds a schema span.
func (a *aggregator) resourceFor(res pcommon.Resource, now int64) *resourceEntry {
	h := a.resourceHash(res.Attributes())
	e, ok := a.resources[h]
	if !ok {
		if len(a.resources) >= a.limit {
			a.overflowRes.lastSeen = now
			return a.overflowRes
		}
		e = &resourceEntry{hash: h, attrs: pcommon.NewMap()}
		a.copyKeyAttributes(res.Attributes(), e.attrs)
		a.resources[h] = e
		a.resOrder = append(a.resOrder, e)
	}
	e.lastSeen = now
	return e
}

func (a *aggregator) copyKeyAttributes(src, dst pcommon.Map) {
	if len(a.keyAttrs) == 0 {
		src.CopyTo(dst)
		return
	}
	for _, k := range a.keyAttrs {
		if v, ok := src.Get(k); ok {
			v.CopyTo(dst.PutEmpty(k))
		}
	}
}

// resourceHash identifies a resource by its key attributes (all of them
// when none are configured, independent of their order).
func (a *aggregator) resourceHash(attrs pcommon.Map) uint64 {
	if len(a.keyAttrs) == 0 {
		// A sum of per-attribute hashes does not depend on the order. The
		// key is mixed before the value joins it: k ^ v alone would make
		// {a: "b"} and {b: "a"} the same resource.
		var sum uint64
		for k, v := range attrs.All() {
			sum += mix(mix(strHash(k)) ^ a.valueHash(v))
		}
		return sum
	}
	h := uint64(len(a.keyAttrs))
	for _, k := range a.keyAttrs {
		if v, ok := attrs.Get(k); ok {
			h = mix(h ^ a.valueHash(v))
		} else {
			h = mix(h ^ 0x9e3779b97f4a7c15)
		}
	}
	return h
}

func (a *aggregator) valueHash(v pcommon.Value) uint64 {
	t := uint64(v.Type()) << 56
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return t ^ strHash(v.Str())
	case pcommon.ValueTypeInt:
		return t ^ mix(uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		return t ^ mix(math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return t ^ 1
		}
		return t
	case pcommon.ValueTypeBytes:
		return t ^ strHash(string(v.Bytes().AsRaw()))
	default: // maps and slices on a resource are rare: allocate for them
		return t ^ strHash(v.AsString())
	}
}

// strHash is FNV-1a: deterministic (so runs, tests and fuzzing take the
// same paths) and cheap enough once per resource per batch.
func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix is the splitmix64 finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// intern returns a copy of s that the aggregator may keep: strings read from
// pdata are not retained beyond a batch. Known strings cost a map lookup.
func (a *aggregator) intern(s string) string {
	if v, ok := a.strs[s]; ok {
		return v
	}
	c := strings.Clone(s)
	if len(a.strs) < 4*a.limit {
		a.strs[c] = c
	}
	return c
}

// seriesCacheSize is the number of slots of the direct-mapped series caches
// (a power of two).
const seriesCacheSize = 1024

// scorerCacheSlot and chainCacheSlot remember the series last found at a
// slot. Hashing three strings for a map lookup costs more than everything
// else a span needs; the caches instead pick a slot from the strings'
// lengths and a few of their bytes, and compare the strings themselves.
// Misses fall back to the map.
type scorerCacheSlot struct{ s *scorerSeries }

type chainCacheSlot struct{ s *chainSeries }

// quickHash mixes what tells scorer names apart cheaply: lengths and a few
// bytes of each string. Equal strings always land on the same slot.
func quickHash(res uint64, method uint8, typ, name, model, profile string) uint64 {
	return mix(res ^ uint64(method)<<61 ^ sample(typ) ^ sample(name)*0x9e3779b97f4a7c15 ^
		sample(model)*0xc2b2ae3d27d4eb4f ^ sample(profile)*0x165667b19e3779f9)
}

func sample(s string) uint64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	return uint64(n) | uint64(s[0])<<8 | uint64(s[n-1])<<16 | uint64(s[n/2])<<24 | uint64(s[n/3])<<32 | uint64(s[2*n/3])<<40
}

// scorerSeriesFor returns the series of (res, type, name, model, profile,
// sampling method) or, when the cardinality limit is reached, the overflow
// series.
func (a *aggregator) scorerSeriesFor(res *resourceEntry, typ, name, model, profile string, method uint8, now int64) *scorerSeries {
	if res != a.overflowRes {
		slot := &a.scorerCache[quickHash(res.hash, method, typ, name, model, profile)&(seriesCacheSize-1)]
		if s := slot.s; s != nil && s.key.res == res && s.key.typ == typ && s.key.name == name &&
			s.key.model == model && s.key.profile == profile && s.key.method == method {
			return s
		}
		if s, ok := a.scorers[scorerKey{res: res, typ: typ, name: name, model: model, profile: profile, method: method}]; ok {
			slot.s = s
			return s
		}
		if a.nScorers < a.limit {
			a.nScorers++
			key := scorerKey{
				res: res, typ: a.intern(typ), name: a.intern(name), model: a.intern(model),
				profile: a.intern(profile), method: method,
			}
			return a.addScorer(key, now)
		}
	}
	a.stats.overflow[familyScorer]++
	key := scorerKey{res: a.overflowRes, overflowing: true}
	if s, ok := a.scorers[key]; ok {
		return s
	}
	return a.addScorer(key, now)
}

func (a *aggregator) addScorer(key scorerKey, now int64) *scorerSeries {
	s := &scorerSeries{
		key:      key,
		start:    uint64(now),
		duration: a.newDuration(),
		scoreMax: newExplicitHist(len(scoreBounds)),
		scoreAvg: newExplicitHist(len(scoreBounds)),
	}
	a.scorers[key] = s
	key.res.scorers = append(key.res.scorers, s)
	return s
}

// scorerSeriesOf returns the series of a scorer observation. A scorer is
// recorded with its chain (just before or after it): when the chain's
// series, looked up last, has the observation's resource, model, profile
// and method, the scorer's series is among its kids, found by type and
// name without hashing the key. Anything else takes scorerSeriesFor.
func (a *aggregator) scorerSeriesOf(o *obs, method uint8, now int64) *scorerSeries {
	c := a.lastChain
	if c == nil || c.key.res != o.res || c.key.method != method || c.key.model != o.model || c.key.profile != o.profile {
		return a.scorerSeriesFor(o.res, o.typ, o.name, o.model, o.profile, method, now)
	}
	if c.kidsGen != a.kidsGen {
		clear(c.kids)
		c.kids, c.kidsGen = c.kids[:0], a.kidsGen
	}
	for _, s := range c.kids {
		if s.key.name == o.name && s.key.typ == o.typ {
			return s
		}
	}
	s := a.scorerSeriesFor(o.res, o.typ, o.name, o.model, o.profile, method, now)
	// Overflow series are never kids: each observation that lands there
	// has to be counted as an overflow.
	if !s.key.overflowing && len(c.kids) < maxKids {
		c.kids = append(c.kids, s)
	}
	return s
}

// chainSeriesFor is scorerSeriesFor for the scoring family. It remembers
// the series it returns for the chain's scorers (scorerSeriesOf).
func (a *aggregator) chainSeriesFor(res *resourceEntry, model, profile string, method uint8, now int64) *chainSeries {
	s := a.findChainSeries(res, model, profile, method, now)
	a.lastChain = s
	if s.key.overflowing {
		a.lastChain = nil // its key does not say its scorers' series
	}
	return s
}

func (a *aggregator) findChainSeries(res *resourceEntry, model, profile string, method uint8, now int64) *chainSeries {
	if res != a.overflowRes {
		slot := &a.chainCache[quickHash(res.hash, method, "", "", model, profile)&(seriesCacheSize-1)]
		if s := slot.s; s != nil && s.key.res == res && s.key.model == model && s.key.profile == profile && s.key.method == method {
			return s
		}
		if s, ok := a.chains[chainKey{res: res, model: model, profile: profile, method: method}]; ok {
			slot.s = s
			return s
		}
		if a.nChains < a.limit {
			a.nChains++
			return a.addChain(chainKey{res: res, model: a.intern(model), profile: a.intern(profile), method: method}, now)
		}
	}
	a.stats.overflow[familyScoring]++
	key := chainKey{res: a.overflowRes, overflowing: true}
	if s, ok := a.chains[key]; ok {
		return s
	}
	return a.addChain(key, now)
}

func (a *aggregator) addChain(key chainKey, now int64) *chainSeries {
	s := &chainSeries{
		key:        key,
		start:      uint64(now),
		duration:   a.newDuration(),
		candidates: newExplicitHist(len(candidateBounds)),
		margin:     newExplicitHist(len(marginBounds)),
	}
	a.chains[key] = s
	key.res.chains = append(key.res.chains, s)
	return s
}

// expire drops series and resources that outlived the configured
// expirations, and resources left with nothing to emit or wait for.
func (a *aggregator) expire(now int64) {
	if a.metricsExp > 0 || a.seriesExp > 0 {
		// Series may go: forget the cached pointers (cheap, once per flush).
		clear(a.scorerCache[:])
		clear(a.chainCache[:])
		a.lastChain = nil
		a.kidsGen++
	}
	keep := a.resOrder[:0]
	for _, r := range a.resOrder {
		resourceStale := a.metricsExp > 0 && now-r.lastSeen > a.metricsExp
		a.expireSeries(r, now, resourceStale)
		if len(r.scorers) == 0 && len(r.chains) == 0 && r.pending == 0 {
			delete(a.resources, r.hash)
			continue
		}
		keep = append(keep, r)
	}
	clear(a.resOrder[len(keep):])
	a.resOrder = keep
	a.expireSeries(a.overflowRes, now, false)
}

func (a *aggregator) expireSeries(r *resourceEntry, now int64, all bool) {
	stale := func(lastSeen int64) bool {
		return all || (a.seriesExp > 0 && now-lastSeen > a.seriesExp)
	}
	scorers := r.scorers[:0]
	for _, s := range r.scorers {
		if !stale(s.lastSeen) {
			scorers = append(scorers, s)
			continue
		}
		delete(a.scorers, s.key)
		if !s.key.overflowing {
			a.nScorers--
		}
	}
	clear(r.scorers[len(scorers):])
	r.scorers = scorers
	chains := r.chains[:0]
	for _, s := range r.chains {
		if !stale(s.lastSeen) {
			chains = append(chains, s)
			continue
		}
		delete(a.chains, s.key)
		if !s.key.overflowing {
			a.nChains--
		}
	}
	clear(r.chains[len(chains):])
	r.chains = chains
}
