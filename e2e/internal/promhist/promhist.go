// Package promhist reads quantiles out of Prometheus classic histograms the
// way PromQL's histogram_quantile does: find the bucket that holds the rank,
// then interpolate linearly inside it. A scrape is all `make run` has; it
// cannot see the raw observations, so this is the honest estimate.
package promhist

import (
	"errors"
	"fmt"
	"math"
	"sort"

	dto "github.com/prometheus/client_model/go"
)

// Bucket is one cumulative bucket: Count observations were <= UpperBound.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// ErrEmpty is returned for a histogram without observations: it has no quantiles.
var ErrEmpty = errors.New("histogram has no observations")

// FromDTO returns the buckets and the observation count of a parsed histogram,
// sorted by upper bound. The +Inf bucket is present whether or not the
// exposition listed it.
func FromDTO(h *dto.Histogram) ([]Bucket, float64) {
	total := float64(h.GetSampleCount())
	if h.SampleCountFloat != nil {
		total = h.GetSampleCountFloat()
	}
	out := make([]Bucket, 0, len(h.GetBucket())+1)
	for _, b := range h.GetBucket() {
		c := float64(b.GetCumulativeCount())
		if b.CumulativeCountFloat != nil {
			c = b.GetCumulativeCountFloat()
		}
		out = append(out, Bucket{UpperBound: b.GetUpperBound(), Count: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpperBound < out[j].UpperBound })
	if len(out) == 0 || !math.IsInf(out[len(out)-1].UpperBound, 1) {
		out = append(out, Bucket{UpperBound: math.Inf(1), Count: total})
	}
	return out, total
}

// Quantile returns the q-quantile (0 <= q <= 1) of a histogram given as
// cumulative buckets sorted by upper bound, the last one +Inf. Inside a bucket
// it interpolates linearly; the first bucket starts at 0 (durations are never
// negative); a rank that falls into the +Inf bucket yields the largest finite
// bound, as PromQL does.
func Quantile(q float64, buckets []Bucket) (float64, error) {
	if math.IsNaN(q) || q < 0 || q > 1 {
		return math.NaN(), fmt.Errorf("quantile %v outside [0, 1]", q)
	}
	n := len(buckets)
	if n == 0 || !math.IsInf(buckets[n-1].UpperBound, 1) {
		return math.NaN(), errors.New("histogram lacks its +Inf bucket")
	}
	for i := 1; i < n; i++ {
		if buckets[i].UpperBound <= buckets[i-1].UpperBound {
			return math.NaN(), fmt.Errorf("bucket bounds not increasing at %v", buckets[i].UpperBound)
		}
		if buckets[i].Count < buckets[i-1].Count {
			return math.NaN(), fmt.Errorf("cumulative count decreases at bucket le=%v", buckets[i].UpperBound)
		}
	}
	total := buckets[n-1].Count
	if total <= 0 {
		return math.NaN(), ErrEmpty
	}
	rank := q * total
	// The first bucket whose cumulative count reaches the rank holds it; for
	// rank 0 that is the first bucket with any observation at all.
	b := sort.Search(n, func(i int) bool {
		if rank == 0 {
			return buckets[i].Count > 0
		}
		return buckets[i].Count >= rank
	})
	if b == n-1 {
		if n == 1 {
			return math.NaN(), errors.New("histogram has only the +Inf bucket")
		}
		return buckets[n-2].UpperBound, nil
	}
	start, below := 0.0, 0.0
	if b > 0 {
		start, below = buckets[b-1].UpperBound, buckets[b-1].Count
	}
	end := buckets[b].UpperBound
	if end <= start {
		// A first bucket bounded at or below zero: nothing to interpolate.
		return end, nil
	}
	return start + (end-start)*(rank-below)/(buckets[b].Count-below), nil
}
