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

// prompt64KiB is a 64 KiB prompt (a RAG prompt: retrieved documents under
// a system prompt), far beyond the 16 KiB the scorer once matched.
const prompt64KiB = 64 << 10

// BenchmarkPrefixCache64KiB prices the prefix scorer on a 64 KiB prompt
// over 100 endpoints, per request and per KiB of prompt (ns/KiB):
//
//	served    the prompt's first half is on every other endpoint: hashing
//	          all 1024 blocks and matching 512 of them (Score)
//	distinct  a prompt the index has not seen, scored and then recorded for
//	          the picked endpoint (Score + PreRequest), whose LRU is full:
//	          1024 blocks inserted and as many evicted per request
func BenchmarkPrefixCache64KiB(b *testing.B) {
	const passage = "Retrieved passage: the quarterly revenue of the northern region grew by eight percent. "
	base := strings.Repeat(passage, prompt64KiB/len(passage)+1)[:prompt64KiB]
	const n = 100
	ctx := context.Background()
	b.Run("served", func(b *testing.B) {
		s, eps := halfServed(b, base, n)
		scores := make([]float64, n)
		req := &framework.InferenceRequest{}
		b.ReportAllocs()
		for b.Loop() {
			*req = framework.InferenceRequest{TargetModel: "m", Prompt: base}
			s.Score(ctx, req, eps, scores)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(prompt64KiB>>10), "ns/KiB")
	})
	b.Run("distinct", func(b *testing.B) {
		s, eps := halfServed(b, base, n)
		// Distinct from their first block on; more of them than the LRU
		// of one endpoint holds (31250 blocks: 30 such prompts).
		prompts := make([]string, 64)
		for i := range prompts {
			head := fmt.Sprintf("<|request %08d|>", i)
			prompts[i] = head + base[len(head):]
		}
		result := &framework.SchedulingResult{PrimaryProfileName: "p", ProfileResults: map[string]*framework.ProfileRunResult{
			"p": {TargetEndpoints: eps[1:2]},
		}}
		scores := make([]float64, n)
		req := &framework.InferenceRequest{}
		schedule := func(i int) {
			*req = framework.InferenceRequest{TargetModel: "m", Prompt: prompts[i%len(prompts)]}
			s.Score(ctx, req, eps, scores)
			s.PreRequest(ctx, req, result)
		}
		for i := range len(prompts) { // fill the LRU
			schedule(i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			schedule(i)
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(prompt64KiB>>10), "ns/KiB")
	})
}
