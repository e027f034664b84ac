package fleet

// BlockTokens is how many tokens a prefix-cache block holds on the simulated
// servers (vLLM's default block size).
const BlockTokens = 16

// CharsPerToken is the simulation's tokenizer: English text averages about
// four characters per token with Llama-family tokenizers.
const CharsPerToken = 4

// BlockChars is the prompt length in characters that fills one block.
const BlockChars = BlockTokens * CharsPerToken

// Tokens returns the simulated token count of a prompt.
func Tokens(prompt string) int { return (len(prompt) + CharsPerToken - 1) / CharsPerToken }

// BlockHashes appends to dst the chained hashes of the prompt's full blocks:
// block i's hash covers blocks 0..i, so two prompts share block i's hash only
// when they share their whole prefix up to it, as in vLLM's prefix cache.
func BlockHashes(dst []uint64, prompt string) []uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for end := BlockChars; end <= len(prompt); end += BlockChars {
		for i := end - BlockChars; i < end; i++ {
			h ^= uint64(prompt[i])
			h *= prime
		}
		dst = append(dst, h)
	}
	return dst
}

// blockLRU is a server's prefix cache: a bounded set of block hashes with
// least-recently-used eviction.
type blockLRU struct {
	capacity int
	nodes    map[uint64]*lruNode
	head     lruNode // sentinel: head.next is the most recent
}

type lruNode struct {
	key        uint64
	prev, next *lruNode
}

func newBlockLRU(capacity int) *blockLRU {
	// Not presized: a big fleet's caches fill only as traffic reaches them.
	c := &blockLRU{capacity: capacity, nodes: map[uint64]*lruNode{}}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// match returns how many leading blocks of a chained-hash sequence the
// cache holds, and marks them used.
func (c *blockLRU) match(blocks []uint64) int {
	n := 0
	for _, b := range blocks {
		node, ok := c.nodes[b]
		if !ok {
			break
		}
		c.moveToFront(node)
		n++
	}
	return n
}

// add inserts the blocks, evicting the least recently used beyond capacity.
func (c *blockLRU) add(blocks []uint64) {
	if c.capacity <= 0 {
		return
	}
	for _, b := range blocks {
		if node, ok := c.nodes[b]; ok {
			c.moveToFront(node)
			continue
		}
		if len(c.nodes) >= c.capacity {
			last := c.head.prev
			c.unlink(last)
			delete(c.nodes, last.key)
		}
		node := &lruNode{key: b}
		c.nodes[b] = node
		c.pushFront(node)
	}
}

func (c *blockLRU) len() int { return len(c.nodes) }

func (c *blockLRU) unlink(n *lruNode) {
	n.prev.next = n.next
	n.next.prev = n.prev
}

func (c *blockLRU) pushFront(n *lruNode) {
	n.prev = &c.head
	n.next = c.head.next
	c.head.next.prev = n
	c.head.next = n
}

func (c *blockLRU) moveToFront(n *lruNode) {
	c.unlink(n)
	c.pushFront(n)
}
