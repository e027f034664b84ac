package scorer

import "github.com/cespare/xxhash/v2"

// hashPrompt appends to dst the chained hashes of the prompt's full blocks
// of blockSize bytes, at most maxBlocks of them. Block i's hash is the
// 64-bit xxHash of the block's bytes seeded with block i-1's hash (block
// 0's seed is the hash of the model), so two prompts share a block hash
// only when they share the whole prefix up to it and target the same
// model. A trailing partial block is not hashed: it cannot be a cached
// block yet.
//
// xxHash (as upstream's indexer uses) is stable: the same prompt yields the
// same blocks in every replica, after a restart, and in any tool that
// reads them. The string is hashed in place: no conversion, no allocation.
func hashPrompt(dst []uint64, model, prompt string, blockSize, maxBlocks int) []uint64 {
	var d xxhash.Digest
	prev := xxhash.Sum64String(model)
	for off := 0; off+blockSize <= len(prompt) && len(dst) < maxBlocks; off += blockSize {
		d.ResetWithSeed(prev)
		_, _ = d.WriteString(prompt[off : off+blockSize])
		prev = d.Sum64()
		dst = append(dst, prev)
	}
	return dst
}

// promptBlocks is how many hashes hashPrompt produces, to size dst once.
func promptBlocks(prompt string, blockSize, maxBlocks int) int {
	return min(len(prompt)/blockSize, maxBlocks)
}
