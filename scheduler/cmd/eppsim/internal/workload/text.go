package workload

import (
	"math/rand/v2"
	"strings"
)

// vocabulary is what simulated prompts are made of. Only lengths and shared
// prefixes matter to the scheduler; plausible words make console output
// readable when someone prints a prompt.
var vocabulary = strings.Fields(`
the a an of to and in for on with by from as at is are was be this that it
request response model user assistant answer question context document table
query customer order invoice account policy claim report summary section
please explain describe list compare translate classify extract rewrite
summarize review check fix write return format json markdown sql python
step first then finally because however therefore example input output
latency throughput cluster service deployment error warning value field
date amount status priority ticket product price region quarter revenue
`)

// words appends n words of text to b; with the fleet's four characters per
// token, a word and its space are about 1.6 tokens.
func words(b *strings.Builder, r *rand.Rand, n int) {
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabulary[r.IntN(len(vocabulary))])
	}
}

// text returns n words of text.
func text(r *rand.Rand, n int) string {
	var b strings.Builder
	b.Grow(n * 6)
	words(&b, r, n)
	return b.String()
}

// between returns a uniform int in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }
