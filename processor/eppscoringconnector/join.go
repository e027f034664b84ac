package eppscoringconnector

import "go.opentelemetry.io/collector/pdata/pcommon"

// joinStore holds scorer observations whose parent scoring span (which
// carries the model) has not arrived yet, keyed by parent span id. It is
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
	obs  childObs
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

// hold parks a scorer observation until its parent arrives, times out or
// is evicted.
func (a *aggregator) hold(o *childObs, now int64) {
	j := &a.join
	h, exists := j.heads[o.parent]
	if exists && h.trace != o.trace {
		// Two traces wait on the same parent span id (a 2^-64 event or a
		// broken client): keep the first, emit this one as it is.
		a.stats.unmatched[unmatchedEvicted]++
		a.recordScorer(o, "", now)
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
			a.stats.unmatched[unmatchedEvicted] += int64(a.release(e.key, h, "", now))
		}
	}
	i := j.alloc()
	p := &j.slab[i]
	p.obs, p.next = *o, -1
	p.obs.typ, p.obs.name = a.intern(o.typ), a.intern(o.name)
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

// resolvePending gives a parent's model to the children that waited for it.
func (a *aggregator) resolvePending(key uint64, ref parentRef, now int64) {
	h, ok := a.join.heads[key]
	if !ok || h.trace != ref.trace {
		return
	}
	a.stats.matched += int64(a.release(key, h, ref.model, now))
}

// release records a parent's waiting observations with the given model and
// frees them; it returns how many there were.
func (a *aggregator) release(key uint64, h pendingHead, model string, now int64) int {
	j := &a.join
	delete(j.heads, key)
	n := 0
	for i := h.head; i >= 0; {
		p := &j.slab[i]
		next := p.next
		a.recordScorer(&p.obs, model, now)
		p.obs.res.pending--
		j.release(i)
		j.used--
		n++
		i = next
	}
	return n
}

// evictOldest emits the longest-waiting parent's children without a model.
func (a *aggregator) evictOldest(now int64) {
	j := &a.join
	for j.rlen > 0 {
		e := j.pop()
		if h, ok := j.live(e); ok {
			a.stats.unmatched[unmatchedEvicted] += int64(a.release(e.key, h, "", now))
			return
		}
	}
}

// expirePending emits the children whose parent did not come in time.
func (a *aggregator) expirePending(now int64) {
	j := &a.join
	for j.rlen > 0 && j.ring[j.rhead].deadline <= now {
		e := j.pop()
		if h, ok := j.live(e); ok {
			a.stats.unmatched[unmatchedTimeout] += int64(a.release(e.key, h, "", now))
		}
	}
}

// drainPending emits every waiting child without a model (on shutdown).
func (a *aggregator) drainPending(now int64) {
	j := &a.join
	for j.rlen > 0 {
		e := j.pop()
		if h, ok := j.live(e); ok {
			a.stats.unmatched[unmatchedShutdown] += int64(a.release(e.key, h, "", now))
		}
	}
}
