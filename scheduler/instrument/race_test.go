//go:build race

package instrument_test

// The race detector randomly drops sync.Pool items and allocates on its
// own, so allocation counts mean nothing under it.
const raceEnabled = true
