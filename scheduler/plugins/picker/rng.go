package picker

import (
	"math/bits"
	"math/rand/v2"
	"sync"
)

// lockedRand is a picker's random source, shared by concurrent picks. A
// pick does not draw from it directly: it takes two words once to seed a
// generator of its own (pickRand), so the lock is held for two draws per
// pick whatever the number of candidates, and a seeded picker still makes
// the same picks in the same order.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(c config) *lockedRand {
	seed := c.seed
	if !c.seeded {
		seed = rand.Uint64() // the runtime's source, seeded from the OS
	}
	// PCG takes 128 bits; the second half is derived so one uint64 seeds it.
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// pickRand is the generator of one pick. It lives on the pick's stack and
// is seeded on first use: a pick that needs no randomness (no ties) does
// not touch the shared source.
type pickRand struct {
	src    *lockedRand
	pcg    rand.PCG
	seeded bool
}

func (p *pickRand) uint64() uint64 {
	if !p.seeded {
		p.src.mu.Lock()
		a, b := p.src.r.Uint64(), p.src.r.Uint64()
		p.src.mu.Unlock()
		p.pcg.Seed(a, b)
		p.seeded = true
	}
	return p.pcg.Uint64()
}

// intN returns a uniform int in [0,n), n > 0, by Lemire's multiply-shift
// with rejection (unbiased).
func (p *pickRand) intN(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(p.uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(p.uint64(), un)
		}
	}
	return int(hi)
}

// float64 returns a uniform float64 in [0,1) with 53 random bits.
func (p *pickRand) float64() float64 {
	return float64(p.uint64()>>11) * 0x1p-53
}
