package scorer

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// BenchmarkPrefixCache prices one request through the prefix scorer with
// upstream's defaults: hashing a ~2 KiB prompt whose first half every other
// endpoint has served, and matching it against every endpoint.
func BenchmarkPrefixCache(b *testing.B) {
	prompt := strings.Repeat("You are a helpful assistant. Answer briefly and cite sources. ", 32)
	for _, n := range []int{5, 25, 100} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			s, eps := halfServed(b, prompt, n)
			scores := make([]float64, n)
			ctx := context.Background()
			req := &framework.InferenceRequest{}
			b.ReportAllocs()
			for b.Loop() {
				*req = framework.InferenceRequest{TargetModel: "m", Prompt: prompt}
				s.Score(ctx, req, eps, scores)
			}
		})
	}
}
