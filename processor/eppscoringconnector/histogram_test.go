package eppscoringconnector

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scorelens/scorelens/scheduler/schema"
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
	b := newBucketer(bounds)
	for _, v := range []float64{-1, 0, 1, 1.5, 2, 3, 3.5} {
		h.record(&b, v, 1)
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

// TestBucketerMatchesSearch checks the table-driven bucket finder against
// a binary search (sort.SearchFloat64s: the first bound >= v) on every
// bound set the connector uses and on random configured ones, at each
// bound, one ulp either side, and at values across all magnitudes.
func TestBucketerMatchesSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	sets := map[string][]float64{
		"score":     scoreBounds,
		"margin":    marginBounds,
		"candidate": candidateBounds,
		"default":   (&Config{}).bucketBounds(),
		"small":     {1, 2, 3},
		"one":       {0.5},
		"none":      {},
		"signed":    {-2, -1, 0, 0.5},
		"extremes":  {1e-9, float64(math.MaxInt64) / 1e9},
	}
	for i := 0; i < 20; i++ { // as a config sets them: whole nanoseconds, increasing
		n := 1 + r.IntN(maxExplicitBuckets)
		ns := make([]int64, 0, n)
		for len(ns) < n {
			ns = append(ns, 1+r.Int64N(int64(1)<<(1+r.IntN(62))))
		}
		slices.Sort(ns)
		ns = slices.Compact(ns)
		set := make([]float64, len(ns))
		for j, v := range ns {
			set[j] = float64(v) / 1e9
		}
		sets[fmt.Sprintf("random%d", i)] = set
	}
	for name, bounds := range sets {
		b := newBucketer(bounds)
		assert.LessOrEqual(t, len(b.start), 1100, name)
		values := []float64{0, math.Copysign(0, -1), -1, 5e-324, math.SmallestNonzeroFloat64 * 1e10, 1e-300, 1e300, math.MaxFloat64, -math.MaxFloat64}
		for _, v := range bounds {
			values = append(values, v, math.Nextafter(v, math.Inf(1)), math.Nextafter(v, math.Inf(-1)), v*1.03, v*0.97)
		}
		for i := 0; i < 2000; i++ {
			values = append(values, math.Pow(10, r.Float64()*24-12), r.Float64())
		}
		for _, v := range values {
			if got, want := b.index(v), sort.SearchFloat64s(bounds, v); got != want {
				t.Fatalf("%s: index(%v) = %d, want %d", name, v, got, want)
			}
		}
	}
}

func BenchmarkBucketer(b *testing.B) {
	bounds := (&Config{}).bucketBounds()
	bk := newBucketer(bounds)
	r := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 1024)
	for i := range values {
		values[i] = math.Pow(10, r.Float64()*6-7) // 100 ns to 1 s
	}
	b.Run("table", func(b *testing.B) {
		var sink int
		for i := 0; b.Loop(); i++ {
			sink += bk.index(values[i&1023])
		}
		_ = sink
	})
	b.Run("search", func(b *testing.B) {
		var sink int
		for i := 0; b.Loop(); i++ {
			sink += sort.SearchFloat64s(bounds, values[i&1023])
		}
		_ = sink
	})
}

// TestScorerKeyTagsDistinct: parseScorer tells the keys it reads apart by
// their last eight bytes; two keys sharing them would make one shadow the
// other (a renamed key in the schema package must keep them apart).
func TestScorerKeyTagsDistinct(t *testing.T) {
	keys := map[string]uint64{
		schema.AttrScorerType:     tagScorerType,
		schema.AttrScorerName:     tagScorerName,
		schema.AttrScoreMax:       tagScoreMax,
		schema.AttrScoreAvg:       tagScoreAvg,
		schema.AttrScorerDecisive: tagScorerDecisive,
		schema.AttrRequestModel:   tagRequestModel,
	}
	seen := map[uint64]string{}
	for k, tag := range keys {
		require.GreaterOrEqual(t, len(k), 8, k)
		assert.Equal(t, tail8(k), tag, k)
		if other, dup := seen[tag]; dup {
			t.Errorf("%q and %q share their last eight bytes", k, other)
		}
		seen[tag] = k
	}
}
