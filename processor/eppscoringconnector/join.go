package eppscoringconnector

import "go.opentelemetry.io/collector/pdata/pcommon"

// joinStore holds observations whose parent has not arrived yet, keyed by
// the parent's span id: scorers waiting for their scoring span (which
// carries the model), chains and their scorers waiting for their
// run_scheduler_profile span (which names the profile). It is
// bounded in count (a slab of max_pending observations) and in time (a FIFO
// of deadlines); nothing in it allocates once the slab has grown.
type joinStore struct {
	timeout int64
	max     int
	heads   map[uint64]pendingHead
	slab    []pendingObs
	free    int32 // free list through pendingObs.next, -1 when empty
	used    int
	// ring is a FIFO of parents in arrival order. Entries of parents that
	// arrived meanwhile stay until popped; seq tells them apart.
	ring    []ringEntry // grows by doubling up to ringMax
	ringMax int
	rhead   int
	rlen    int
	seq     uint32
}

type pendingObs struct {
	obs  obs
	next int32
}

type pendingHead struct {
	trace      pcommon.TraceID
	head, tail int32
	seq        uint32
}

type ringEntry struct {
	key      uint64
	seq      uint32
	deadline int64
}

func newJoinStore(maxPending int, timeout int64) joinStore {
	return joinStore{
		timeout: timeout,
		max:     maxPending,
		heads:   make(map[uint64]pendingHead),
		free:    -1,
		ring:    make([]ringEntry, min(64, 2*maxPending)),
		ringMax: 2 * maxPending,
	}
}

func (j *joinStore) alloc() int32 {
	if j.free >= 0 {
		i := j.free
		j.free = j.slab[i].next
		return i
	}
	j.slab = append(j.slab, pendingObs{})
	return int32(len(j.slab) - 1)
}

func (j *joinStore) release(i int32) {
	j.slab[i] = pendingObs{next: j.free} // drop string references
	j.free = i
}

func (j *joinStore) push(e ringEntry) {
	if j.rlen == len(j.ring) { // callers keep rlen < ringMax
		grown := make([]ringEntry, min(2*len(j.ring), j.ringMax))
		for i := 0; i < j.rlen; i++ {
			grown[i] = j.ring[(j.rhead+i)%len(j.ring)]
		}
		j.ring, j.rhead = grown, 0
	}
	j.ring[(j.rhead+j.rlen)%len(j.ring)] = e
	j.rlen++
}

func (j *joinStore) pop() ringEntry {
	e := j.ring[j.rhead]
	j.rhead = (j.rhead + 1) % len(j.ring)
	j.rlen--
	return e
}

// live returns the parent's pending list when the ring entry still stands
// for it.
func (j *joinStore) live(e ringEntry) (pendingHead, bool) {
	h, ok := j.heads[e.key]
	return h, ok && h.seq == e.seq
}

// Kinds of arrival that end a wait.
const (
	arrivedNone    = iota // the parent did not come: timeout, eviction, shutdown
	arrivedScoring        // the scoring span (model)
	arrivedProfile        // the run_scheduler_profile span (profile name)
)

// arrival is what ends the wait of a parent's observations.
type arrival struct {
	kind       uint8
	reason     int // unmatched* when kind is arrivedNone
	trace      pcommon.TraceID
	model      string
	profileKey uint64 // scoring: the chain's own wait for its profile, 0 if none
	batchOnly  bool   // scoring: the chain looks for its profile in this batch only
	profile    string
}

// hold parks an observation until its parent arrives, times out or is
// evicted.
func (a *aggregator) hold(o *obs, now int64) {
	j := &a.join
	h, exists := j.heads[o.parent]
	if exists && h.trace != o.trace {
		// Two traces wait on the same parent span id (a 2^-64 event or a
		// broken client): keep the first, emit this one as it is.
		a.settle(o, arrival{kind: arrivedNone, reason: unmatchedEvicted}, now)
		return
	}
	for j.used >= j.max {
		a.evictOldest(now)
		h, exists = j.heads[o.parent]
	}
	for !exists && j.rlen == j.ringMax {
		// The FIFO is full of parents that mostly arrived already: pop
		// those; evict only when the oldest still waits.
		e := j.pop()
		if h, ok := j.live(e); ok {
			a.release(e.key, h, arrival{kind: arrivedNone, reason: unmatchedEvicted}, now)
		}
	}
	i := j.alloc()
	p := &j.slab[i]
	p.obs, p.next = *o, -1
	p.obs.typ, p.obs.name = a.intern(o.typ), a.intern(o.name)
	p.obs.model, p.obs.profile = a.intern(o.model), a.intern(o.profile)
	o.res.pending++
	j.used++
	if exists {
		j.slab[h.tail].next = i
		h.tail = i
		j.heads[o.parent] = h
		return
	}
	j.seq++
	j.heads[o.parent] = pendingHead{trace: o.trace, head: i, tail: i, seq: j.seq}
	j.push(ringEntry{key: o.parent, seq: j.seq, deadline: now + j.timeout})
}

// resolvePending ends the wait of the observations held for the span that
// arrived.
func (a *aggregator) resolvePending(key uint64, arr arrival, now int64) {
	h, ok := a.join.heads[key]
	if !ok || h.trace != arr.trace {
		return
	}
	a.release(key, h, arr, now)
}

// release ends the wait of a parent's held observations and frees them.
func (a *aggregator) release(key uint64, h pendingHead, arr arrival, now int64) {
	j := &a.join
	delete(j.heads, key)
	for i := h.head; i >= 0; {
		p := &j.slab[i]
		next := p.next
		o := p.obs // a copy: settling may hold it again and grow the slab
		o.res.pending--
		j.release(i)
		j.used--
		a.settle(&o, arr, now)
		i = next
	}
}

// settle applies an arrival to one observation: records it, or, when a
// scorer's scoring span arrived but the chain waits for its profile, holds
// it again under the profile span. It counts the join's outcome.
func (a *aggregator) settle(o *obs, arr arrival, now int64) {
	switch {
	case arr.kind == arrivedScoring && o.wait == waitScoring:
		a.stats.matched++
		if o.model == "" {
			o.model = arr.model
		}
		if arr.profileKey != 0 {
			o.wait, o.parent, o.batchOnly = waitProfile, arr.profileKey, arr.batchOnly
			a.profileWaits++
			if o.batchOnly {
				// Settles at the end of this batch, like its chain.
				*a.pushDeferred() = *o
				return
			}
			a.hold(o, now)
			return
		}
	case arr.kind == arrivedProfile && o.wait == waitProfile:
		o.profile = arr.profile
		if o.family == familyScoring {
			a.stats.profileMatched++
		}
	case arr.kind == arrivedNone && o.wait == waitScoring:
		a.stats.unmatched[arr.reason]++
	case arr.kind == arrivedNone && o.family == familyScoring:
		a.stats.profileUnmatched[arr.reason]++
	}
	a.recordObs(o, now)
}

// evictOldest emits the longest-waiting parent's observations without
// what they waited for.
func (a *aggregator) evictOldest(now int64) {
	j := &a.join
	for j.rlen > 0 {
		e := j.pop()
		if h, ok := j.live(e); ok {
			a.release(e.key, h, arrival{kind: arrivedNone, reason: unmatchedEvicted}, now)
			return
		}
	}
}

// expirePending emits the observations whose parent did not come in time.
func (a *aggregator) expirePending(now int64) {
	j := &a.join
	for j.rlen > 0 && j.ring[j.rhead].deadline <= now {
		e := j.pop()
		if h, ok := j.live(e); ok {
			a.release(e.key, h, arrival{kind: arrivedNone, reason: unmatchedTimeout}, now)
		}
	}
}

// drainPending emits every waiting observation as it is (on shutdown).
func (a *aggregator) drainPending(now int64) {
	j := &a.join
	for j.rlen > 0 {
		e := j.pop()
		if h, ok := j.live(e); ok {
			a.release(e.key, h, arrival{kind: arrivedNone, reason: unmatchedShutdown}, now)
		}
	}
}
