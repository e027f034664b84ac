package scorer

import "hash/maphash"

// hashPrompt appends to dst the chained hashes of the prompt's full blocks
// of blockSize bytes, at most maxBlocks of them. Block i's hash covers blocks
// 0..i and the model, so two prompts share a block hash only when they share
// the whole prefix up to it and target the same model. A trailing partial
// block is not hashed: it cannot be a cached block yet.
//
// maphash.String runs the runtime's AES-backed memory hash, an order of
// magnitude faster than a byte-at-a-time hash on long prompts, and the
// string is hashed in place: no conversion, no allocation.
func hashPrompt(dst []uint64, seed maphash.Seed, model, prompt string, blockSize, maxBlocks int) []uint64 {
	prev := maphash.String(seed, model)
	for off := 0; off+blockSize <= len(prompt) && len(dst) < maxBlocks; off += blockSize {
		prev = mix64(prev ^ maphash.String(seed, prompt[off:off+blockSize]))
		dst = append(dst, prev)
	}
	return dst
}

// promptBlocks is how many hashes hashPrompt produces, to size dst once.
func promptBlocks(prompt string, blockSize, maxBlocks int) int {
	return min(len(prompt)/blockSize, maxBlocks)
}

// mix64 is the MurmurHash3 64-bit finalizer: a bijection that spreads every
// input bit over the output, so chaining by xor does not commute (the order
// of blocks matters).
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
