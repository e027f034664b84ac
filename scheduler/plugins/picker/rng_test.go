package picker

import (
	"context"
	"testing"
)

func TestPickRand(t *testing.T) {
	src := newLockedRand(config{seed: 1, seeded: true})
	for _, n := range []int{1, 2, 3, 7, 1 << 40} {
		r := pickRand{src: src}
		for range 1000 {
			if v := r.intN(n); v < 0 || v >= n {
				t.Fatalf("intN(%d) = %d", n, v)
			}
		}
	}
	r := pickRand{src: src}
	hist := make([]int, 3)
	for range 30000 {
		hist[r.intN(3)]++
		if f := r.float64(); f < 0 || f >= 1 {
			t.Fatalf("float64() = %v", f)
		}
	}
	for v, c := range hist {
		if c < 9000 || c > 11000 {
			t.Errorf("intN(3) gave %d %d times of 30000, want about 10000", v, c)
		}
	}
	// Seeding is lazy: a pick without ties leaves the shared source alone.
	// ref is read in step with p's source, to see whether a pick drew.
	p, ref := NewMaxScore("", WithSeed(5)), newLockedRand(config{seed: 5, seeded: true})
	p.Pick(context.Background(), candidates(0.1, 0.9, 0.5))
	if p.rng.r.Uint64() != ref.r.Uint64() {
		t.Error("a pick without ties drew from the shared source")
	}
	p.Pick(context.Background(), candidates(0.9, 0.9))
	if p.rng.r.Uint64() == ref.r.Uint64() {
		t.Error("a pick with ties did not draw from the shared source")
	}
}
