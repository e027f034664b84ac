package instrument

import (
	"math"
	"slices"
	"testing"

	"github.com/scorelens/scorelens/scheduler/schema"
)

func TestTopScores(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		in, want []float64
	}{
		{nil, nil},
		{[]float64{0.5}, []float64{0.5}},
		{[]float64{1, 3, 2}, []float64{3, 2, 1}},
		{[]float64{1, 7, nan, 3, 9, 2, 8, 0, 8}, []float64{9, 8, 8, 7, 3}},
		{[]float64{nan, nan}, nil},
	}
	for _, tc := range tests {
		var buf [schema.MaxTopScores]float64
		if got := topScores(buf[:0], tc.in); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("topScores(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
