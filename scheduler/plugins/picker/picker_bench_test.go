package picker

import (
	"context"
	"fmt"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// BenchmarkPick prices one pick of one endpoint among candidates whose
// scores tie in groups of four, as summed discrete scorer signals do.
func BenchmarkPick(b *testing.B) {
	for _, p := range pickers(WithSeed(1)) {
		for _, n := range []int{5, 25, 100} {
			b.Run(fmt.Sprintf("picker=%s/endpoints=%d", p.TypedName().Type, n), func(b *testing.B) {
				scores := make([]float64, n)
				for i := range scores {
					scores[i] = float64(i/4) / float64(n)
				}
				scored := candidates(scores...)
				ctx := context.Background()
				var sink *framework.ProfileRunResult
				b.ReportAllocs()
				for b.Loop() {
					sink = p.Pick(ctx, scored)
				}
				_ = sink
			})
		}
	}
}
