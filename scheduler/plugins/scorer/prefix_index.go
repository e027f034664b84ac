package scorer

// prefixIndex remembers which endpoints served which prompt blocks, the
// shape upstream's indexer has: one map from block hash to the endpoints
// holding it, so that scoring a prompt looks each of its blocks up once,
// however many endpoints there are, and not once per endpoint.
//
// Each endpoint holds at most capacity blocks, evicted least recently used
// first; at most maxEndpoints endpoints are tracked, and when a new one would
// exceed that the endpoint recorded least recently is dropped whole, so that
// endpoints that left the fleet age out without anyone calling forget.
//
// Endpoints live in dense slots so that a request can count matches in a
// slice indexed by slot rather than a map.
type prefixIndex struct {
	blocks       map[uint64]holderSet
	ids          map[string]int32 // endpoint ID -> slot
	slots        []endpointBlocks
	free         []int32 // vacated slots, reused before the slice grows
	capacity     int     // blocks per endpoint
	maxEndpoints int
	tick         uint64
}

// holder is one endpoint holding a block: its slot and the block's node in
// the endpoint's LRU list.
type holder struct {
	slot, node int32
}

// holderSet is the endpoints holding one block. Most blocks are held by
// one endpoint (the one the prompt was routed to), so the first holder is
// kept inline: inserting a new block allocates nothing, where a slice per
// block cost an allocation for each block of every new prompt.
type holderSet struct {
	first holder
	rest  []holder
}

func (s *holderSet) len() int { return 1 + len(s.rest) }

func (s *holderSet) at(i int) holder {
	if i == 0 {
		return s.first
	}
	return s.rest[i-1]
}

// endpointBlocks is one endpoint's LRU list of block hashes. Nodes live in
// one slice linked by index: a full list reuses its evicted node.
type endpointBlocks struct {
	id         string // empty when the slot is free
	nodes      []lruNode
	head, tail int32 // most and least recently used; -1 when empty
	lastUsed   uint64
}

type lruNode struct {
	hash       uint64
	prev, next int32
}

func newPrefixIndex(capacity, maxEndpoints int) prefixIndex {
	return prefixIndex{
		blocks:       make(map[uint64]holderSet),
		ids:          make(map[string]int32),
		capacity:     capacity,
		maxEndpoints: maxEndpoints,
	}
}

// holders returns the endpoints holding the prompt's first block: the only
// ones with a match.
func (x *prefixIndex) holders(hashes []uint64) matchedSet {
	if len(hashes) == 0 {
		return matchedSet{}
	}
	hs, ok := x.blocks[hashes[0]]
	return matchedSet{hs, ok}
}

// matchedSet is the holders of a prompt's first block, and whether anyone
// holds it.
type matchedSet struct {
	holderSet
	any bool
}

// fewMatched is how many matched endpoints are found by comparing IDs;
// beyond it a map look-up per candidate is cheaper.
const fewMatched = 8

// matchedSlot returns the slot of the candidate with the given ID when it is
// among the matched endpoints. Usually a prompt's prefix sits on a few
// endpoints, and comparing a candidate's ID with theirs (a length check,
// mostly) is an order of magnitude cheaper than hashing it into the ID map.
func (x *prefixIndex) matchedSlot(matched matchedSet, id string) (int32, bool) {
	if !matched.any {
		return 0, false
	}
	if len(matched.rest) >= fewMatched {
		s, ok := x.ids[id]
		return s, ok
	}
	for i := range matched.len() {
		if hd := matched.at(i); x.slots[hd.slot].id == id {
			return hd.slot, true
		}
	}
	return 0, false
}

// match writes into counts[slot] how many leading hashes each endpoint
// holds; counts must have len(x.slots) zeroed elements. A block counts only
// if every block before it did, and the walk stops at the first block that
// extends no endpoint's match: the work is the prompt's matched blocks and
// their holders, independent of the fleet size.
func (x *prefixIndex) match(hashes []uint64, counts []int32) {
	for i, h := range hashes {
		extended := false
		hs, ok := x.blocks[h]
		if !ok {
			return
		}
		for j := range hs.len() {
			if hd := hs.at(j); counts[hd.slot] == int32(i) {
				counts[hd.slot]++
				extended = true
			}
		}
		if !extended {
			return
		}
	}
}

// matchedBlocks returns how many leading hashes the endpoint holds.
func (x *prefixIndex) matchedBlocks(hashes []uint64, id string) int {
	slot, ok := x.ids[id]
	if !ok {
		return 0
	}
	for i, h := range hashes {
		hs, ok := x.blocks[h]
		if !ok {
			return i
		}
		held := false
		for j := range hs.len() {
			if hs.at(j).slot == slot {
				held = true
				break
			}
		}
		if !held {
			return i
		}
	}
	return len(hashes)
}

// record adds the hashes to the endpoint's blocks, last hash first, so that
// a prompt's leading blocks end up most recent: the LRU evicts a prompt's
// tail before its head, and what stays still matches as a prefix.
func (x *prefixIndex) record(id string, hashes []uint64) {
	slot, ok := x.ids[id]
	if !ok {
		slot = x.track(id)
	}
	x.tick++
	x.slots[slot].lastUsed = x.tick
	for i := len(hashes) - 1; i >= 0; i-- {
		x.add(slot, hashes[i])
	}
}

// add makes h the endpoint's most recent block.
func (x *prefixIndex) add(slot int32, h uint64) {
	e := &x.slots[slot]
	hs, held := x.blocks[h]
	if held {
		for i := range hs.len() {
			if hd := hs.at(i); hd.slot == slot {
				e.moveToFront(hd.node)
				return
			}
		}
	}
	var node int32
	if len(e.nodes) < x.capacity {
		node = int32(len(e.nodes))
		e.nodes = append(e.nodes, lruNode{hash: h, prev: -1, next: -1})
	} else {
		node = e.tail
		e.unlink(node)
		x.dropHolder(e.nodes[node].hash, slot)
		e.nodes[node].hash = h
	}
	e.pushFront(node)
	hd := holder{slot: slot, node: node}
	// Evicting may have dropped h's set (when the evicted block was h
	// itself, held by this endpoint alone): read it again.
	if hs, held = x.blocks[h]; held {
		hs.rest = append(hs.rest, hd)
	} else {
		hs = holderSet{first: hd}
	}
	x.blocks[h] = hs
}

// dropHolder removes the endpoint from the block's holders, and the block
// when no one holds it any more.
func (x *prefixIndex) dropHolder(h uint64, slot int32) {
	hs, ok := x.blocks[h]
	if !ok {
		return
	}
	if hs.first.slot == slot {
		if len(hs.rest) == 0 {
			delete(x.blocks, h)
			return
		}
		last := len(hs.rest) - 1
		hs.first, hs.rest = hs.rest[last], hs.rest[:last]
		x.blocks[h] = hs
		return
	}
	for i, hd := range hs.rest {
		if hd.slot == slot {
			last := len(hs.rest) - 1
			hs.rest[i] = hs.rest[last]
			hs.rest = hs.rest[:last]
			x.blocks[h] = hs
			return
		}
	}
}

// track gives a new endpoint a slot, first dropping the endpoint recorded
// least recently when the index is full. The scan is linear, and runs only
// when an endpoint beyond the bound first appears.
func (x *prefixIndex) track(id string) int32 {
	if len(x.ids) >= x.maxEndpoints {
		oldest := int32(-1)
		for s := range x.slots {
			e := &x.slots[s]
			if e.id != "" && (oldest < 0 || e.lastUsed < x.slots[oldest].lastUsed) {
				oldest = int32(s)
			}
		}
		x.forget(x.slots[oldest].id)
	}
	var slot int32
	if n := len(x.free); n > 0 {
		slot, x.free = x.free[n-1], x.free[:n-1]
	} else {
		slot = int32(len(x.slots))
		x.slots = append(x.slots, endpointBlocks{})
	}
	x.slots[slot] = endpointBlocks{id: id, head: -1, tail: -1}
	x.ids[id] = slot
	return slot
}

// forget drops an endpoint and every block only it held.
func (x *prefixIndex) forget(id string) {
	slot, ok := x.ids[id]
	if !ok {
		return
	}
	for _, n := range x.slots[slot].nodes {
		x.dropHolder(n.hash, slot)
	}
	delete(x.ids, id)
	x.slots[slot] = endpointBlocks{} // release the node slice with the endpoint
	x.free = append(x.free, slot)
}

func (e *endpointBlocks) moveToFront(i int32) {
	if e.head == i {
		return
	}
	e.unlink(i)
	e.pushFront(i)
}

func (e *endpointBlocks) unlink(i int32) {
	n := &e.nodes[i]
	if n.prev >= 0 {
		e.nodes[n.prev].next = n.next
	} else {
		e.head = n.next
	}
	if n.next >= 0 {
		e.nodes[n.next].prev = n.prev
	} else {
		e.tail = n.prev
	}
	n.prev, n.next = -1, -1
}

func (e *endpointBlocks) pushFront(i int32) {
	n := &e.nodes[i]
	n.prev, n.next = -1, e.head
	if e.head >= 0 {
		e.nodes[e.head].prev = i
	}
	e.head = i
	if e.tail < 0 {
		e.tail = i
	}
}
