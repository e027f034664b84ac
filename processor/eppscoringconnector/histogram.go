package eppscoringconnector

import "math"

// scoreBounds bucket a scorer's max and mean score: upstream clamps scores
// to [0,1], and a score of exactly 0 (the scorer had nothing to say) gets
// its own bucket.
var scoreBounds = []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}

// marginBounds bucket a chain's normalized margin (0 to 1): finer near 0,
// where a close race is told from a clear one.
var marginBounds = []float64{0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1}

// candidateBounds bucket candidate-endpoint counts, doubling up to a fleet
// of thousands of pods.
var candidateBounds = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}

// Bucket finders of the fixed bounds.
var (
	scoreBuckets     = newBucketer(scoreBounds)
	marginBuckets    = newBucketer(marginBounds)
	candidateBuckets = newBucketer(candidateBounds)
)

// bucketer finds the explicit bucket of a value: the first bound >= v
// (upper-inclusive buckets, as OTLP has them). A binary search over twenty
// bounds mispredicts a branch or two per value; instead, the top sixteen
// bits of a positive double (its exponent and four mantissa bits, which
// grow with the value) index a table of where to start, and a short scan
// finishes: each sixteenth of an octave holds a bound or two at most for
// any bounds a config can set.
type bucketer struct {
	bounds []float64
	kmin   uint64   // the table's first key: the least positive bound's
	start  []uint16 // per key from kmin: the first bound >= the key's least value
}

// newBucketer builds the table for strictly increasing bounds. The
// config's (whole nanoseconds up to 2^63, at most 256) keep it under
// 1100 entries.
func newBucketer(bounds []float64) bucketer {
	b := bucketer{bounds: bounds}
	lo, hi := -1, len(bounds)-1
	for i, v := range bounds {
		if v > 0 {
			lo = i
			break
		}
	}
	if lo < 0 || hi < lo {
		return b // no positive bound: every positive value is above them all
	}
	b.kmin = math.Float64bits(bounds[lo]) >> 48
	kmax := math.Float64bits(bounds[hi]) >> 48
	b.start = make([]uint16, kmax-b.kmin+1)
	i := lo
	for k := range b.start {
		least := math.Float64frombits((b.kmin + uint64(k)) << 48)
		for i < len(bounds) && bounds[i] < least {
			i++
		}
		b.start[k] = uint16(i)
	}
	return b
}

// index returns the bucket of a finite v.
func (b *bucketer) index(v float64) int {
	i := 0
	if bits := math.Float64bits(v); int64(bits) > 0 { // v > 0
		key := bits >> 48
		switch k := key - b.kmin; {
		case k < uint64(len(b.start)):
			i = int(b.start[k])
		case key > b.kmin:
			return len(b.bounds) // above the top bound's key
		}
		// Below the least positive bound's key: only bounds <= 0 are
		// smaller than v, scanned from the first.
	}
	for i < len(b.bounds) && b.bounds[i] < v {
		i++
	}
	return i
}

// explicitHist is an explicit-bucket histogram. Callers pass only finite
// values, so no NaN can reach sum, min or max.
type explicitHist struct {
	counts   []uint64 // len(bounds)+1, allocated when the series is created
	count    uint64
	sum      float64
	min, max float64 // ±Inf while empty: the first value sets both
}

func newExplicitHist(nBounds int) explicitHist {
	return explicitHist{counts: make([]uint64, nBounds+1), min: math.Inf(1), max: math.Inf(-1)}
}

// record adds n observations of v (n > 1 for extrapolated counts).
func (h *explicitHist) record(b *bucketer, v float64, n uint64) {
	h.counts[b.index(v)] += n
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.count += n
	h.sum += v * float64(n)
}

func (h *explicitHist) reset() {
	clear(h.counts)
	h.count, h.sum, h.min, h.max = 0, 0, math.Inf(1), math.Inf(-1)
}

// expoMaxScale is where a fresh exponential histogram starts; it scales
// down as the observed range widens (OTLP base-2 exponential histogram).
const expoMaxScale = 20

// expoHist is a base-2 exponential histogram of non-negative values with at
// most maxSize positive buckets. Its buckets live in one slice allocated
// with the series, so recording never allocates.
type expoHist struct {
	scale    int32
	offset   int32
	counts   []uint64 // len = buckets in use, cap = maxSize
	zero     uint64
	count    uint64
	sum      float64
	min, max float64
}

func newExpoHist(maxSize int) expoHist {
	return expoHist{scale: expoMaxScale, counts: make([]uint64, 0, maxSize)}
}

func (h *expoHist) reset() {
	h.scale, h.offset, h.counts = expoMaxScale, 0, h.counts[:0]
	h.zero, h.count, h.sum, h.min, h.max = 0, 0, 0, 0, 0
}

// record adds n observations of v.
func (h *expoHist) record(v float64, n uint64) {
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if h.count == 0 || v > h.max {
		h.max = v
	}
	h.count += n
	h.sum += v * float64(n)
	if v <= 0 {
		h.zero += n
		return
	}
	maxSize := int64(cap(h.counts))
	for {
		idx := mapToIndex(v, h.scale)
		used := int32(len(h.counts))
		if used == 0 {
			h.offset = idx
			h.counts = append(h.counts, n)
			return
		}
		lo, hi := h.offset, h.offset+used-1
		if idx >= lo && idx <= hi {
			h.counts[idx-lo] += n
			return
		}
		nlo, nhi := min(lo, idx), max(hi, idx)
		if int64(nhi)-int64(nlo)+1 <= maxSize {
			h.extend(nlo, nhi)
			h.counts[idx-h.offset] += n
			return
		}
		var by int32
		for int64(nhi)-int64(nlo)+1 > maxSize {
			nlo >>= 1
			nhi >>= 1
			by++
		}
		h.downscale(by)
	}
}

// extend widens the bucket window to [lo, hi] within the slice's capacity.
func (h *expoHist) extend(lo, hi int32) {
	n := int32(len(h.counts))
	newLen := hi - lo + 1
	h.counts = h.counts[:newLen]
	if shift := h.offset - lo; shift > 0 {
		copy(h.counts[shift:], h.counts[:n])
		clear(h.counts[:shift])
		clear(h.counts[shift+n:])
	} else {
		clear(h.counts[n:])
	}
	h.offset = lo
}

// downscale merges buckets in place: at scale s-by, index i becomes i>>by,
// and the new position never exceeds the old one.
func (h *expoHist) downscale(by int32) {
	newOff := h.offset >> by
	n := 0
	for i, c := range h.counts {
		j := int(((h.offset + int32(i)) >> by) - newOff)
		if j >= n {
			h.counts[j] = c
			n = j + 1
		} else {
			h.counts[j] += c
		}
	}
	h.counts = h.counts[:n]
	h.offset = newOff
	h.scale -= by
}

// mapToIndex returns the index of the bucket (base^i, base^(i+1)] holding
// v > 0 at the given scale, base = 2^(2^-scale).
func mapToIndex(v float64, scale int32) int32 {
	frac, exp := math.Frexp(v) // v = frac * 2^exp, frac in [0.5, 1)
	if scale <= 0 {
		e := exp - 1
		if frac == 0.5 { // exact power of two: upper-inclusive boundary
			e--
		}
		return int32(e >> uint(-scale))
	}
	if frac == 0.5 {
		return int32(((exp - 1) << uint(scale)) - 1)
	}
	return int32(math.Ceil(math.Log(v)*scaleFactors[scale]) - 1)
}

// scaleFactors[s] = 2^s / ln 2: log base 2^(2^-s) of v is ln(v) times it.
var scaleFactors = func() [expoMaxScale + 1]float64 {
	var f [expoMaxScale + 1]float64
	for s := range f {
		f[s] = math.Ldexp(math.Log2E, s)
	}
	return f
}()

// exemplar is one sampled observation linking a data point to its span.
type exemplar struct {
	trace [16]byte
	span  [8]byte
	value float64
	ts    uint64
}

// exemplarRing keeps the newest exemplars of one data point since the last
// flush, at most cap(buf); its buffer is allocated once.
type exemplarRing struct {
	buf  []exemplar
	next int
}

func (r *exemplarRing) add(limit int, e exemplar) {
	if r.buf == nil {
		r.buf = make([]exemplar, 0, limit)
	}
	if len(r.buf) < limit {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % limit
}

func (r *exemplarRing) reset() {
	r.buf, r.next = r.buf[:0], 0
}
