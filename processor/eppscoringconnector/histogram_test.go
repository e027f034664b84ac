package eppscoringconnector

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMapToIndexBoundaries(t *testing.T) {
	tests := []struct {
		v     float64
		scale int32
		want  int32
	}{
		{1, 0, -1}, // buckets are upper-inclusive: 1 is the top of (0.5, 1]
		{1.5, 0, 0},
		{2, 0, 0},
		{4, 0, 1},
		{4, -1, 0},
		{5, -1, 1},
		{1, 3, -1},
		// Mid-bucket values (the logarithm may be off by one ulp right at
		// a non-power-of-two boundary, which the OTLP spec tolerates).
		{math.Pow(2, 0.0625), 3, 0},
		{math.Pow(2, 0.1875), 3, 1},
		{math.Pow(2, -0.0625), 3, -1},
		{0.25, 20, -2<<20 - 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, mapToIndex(tt.v, tt.scale), "v=%v scale=%d", tt.v, tt.scale)
	}
}

// TestExpoHistMatchesBruteForce checks, for random value sets spanning
// nanoseconds to minutes, that every value sits in the bucket its index
// says at the final scale and that no bucket is lost while scaling down.
func TestExpoHistMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, maxSize := range []int{2, 8, 160} {
		for round := 0; round < 50; round++ {
			h := newExpoHist(maxSize)
			n := 1 + rng.IntN(300)
			vals := make([]float64, n)
			var zeros uint64
			for i := range vals {
				if rng.IntN(20) == 0 {
					vals[i] = 0
					zeros++
				} else {
					vals[i] = math.Pow(10, -9+rng.Float64()*11)
				}
				h.record(vals[i], 1)
			}
			require.LessOrEqual(t, len(h.counts), maxSize)
			want := make(map[int32]uint64)
			for _, v := range vals {
				if v > 0 {
					want[mapToIndex(v, h.scale)]++
				}
			}
			var total uint64
			for i, c := range h.counts {
				total += c
				assert.Equal(t, want[h.offset+int32(i)], c, "maxSize %d round %d bucket %d", maxSize, round, i)
			}
			assert.Equal(t, uint64(n)-zeros, total)
			assert.Equal(t, zeros, h.zero)
			assert.Equal(t, uint64(n), h.count)
		}
	}
}

func TestExplicitHistUpperInclusive(t *testing.T) {
	bounds := []float64{1, 2, 3}
	h := newExplicitHist(len(bounds))
	for _, v := range []float64{-1, 0, 1, 1.5, 2, 3, 3.5} {
		h.record(bounds, v, 1)
	}
	assert.Equal(t, []uint64{3, 2, 1, 1}, h.counts)
	assert.Equal(t, -1.0, h.min)
	assert.Equal(t, 3.5, h.max)
	assert.InDelta(t, 10.0, h.sum, 1e-9)
}

func TestExemplarRingKeepsNewest(t *testing.T) {
	var r exemplarRing
	for i := 1; i <= 5; i++ {
		r.add(2, exemplar{value: float64(i)})
	}
	got := []float64{r.buf[0].value, r.buf[1].value}
	assert.ElementsMatch(t, []float64{4, 5}, got)
	r.reset()
	assert.Empty(t, r.buf)
}
