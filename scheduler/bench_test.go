package scheduler_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/scorelens/scorelens/scheduler"
	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

// benchModel is the request's target (a LoRA adapter), loaded on every
// third endpoint.
const benchModel = "llama-3.1-8b-sql-lora"

// benchModes are the tracing modes of BenchmarkSchedule, in run order:
// sampled reports its cost over unsampled, so it must run after it.
var benchModes = []string{"absent", "noop", "unsampled", "sampled"}

// BenchmarkSchedule is upstream's scheduler benchmark on this module: one
// profile, no filter, four weight-1 scorers (kv-cache, queue, prefix,
// lora), the max-score picker; endpoint i has queue i%8, KV usage
// (i%10)/10 and the target adapter loaded when i%3 == 0; a ~1.5 KB chat
// prompt. Tracing modes:
//
//	absent     WithoutTracing: the reference path, no tracing code runs
//	noop       nothing installed: the OTel global's default provider
//	unsampled  an SDK that samples nothing (NeverSample)
//	sampled    an SDK that samples everything, each span handed on End
//	           to a discarding exporter through the SDK's synchronous
//	           processor (the cost of the spans, not of batching or of a
//	           wire format)
//
// sampled also reports extra-ns/span and extra-allocs/span: (sampled −
// unsampled) / 4 scorers, from the unsampled run of the same size.
func BenchmarkSchedule(b *testing.B) {
	benchSchedule(b, 1, func(int) string { return benchPrompt })
}

// BenchmarkScheduleDistinctPrompts is BenchmarkSchedule (same profile,
// fleet and sub-benchmarks) with a prompt the prefix index has not seen in
// every iteration, as an EPP mostly schedules: the prefix scorer hashes it,
// matches nothing beyond the shared system prompt, and PreRequest inserts
// its blocks, evicting as many. Before the timer, enough distinct prompts
// are scheduled to fill the winning endpoint's LRU, so that every timed
// iteration evicts. The prompts are made before the benchmark: an EPP gets
// its prompt from the request body, which is not the scheduler's cost.
func BenchmarkScheduleDistinctPrompts(b *testing.B) {
	prompts := distinctPrompts()
	benchSchedule(b, distinctWarmIterations, func(i int) string { return prompts[i%len(prompts)] })
}

// benchSchedule runs the sub-benchmarks of BenchmarkSchedule, iteration i
// scheduling prompt(i); warm is how many iterations run before the timer.
func benchSchedule(b *testing.B, warm int, prompt func(i int) string) {
	for _, n := range []int{5, 25, 100} {
		var unsampled benchCost
		for _, mode := range benchModes {
			b.Run(fmt.Sprintf("endpoints=%d/tracing=%s", n, mode), func(b *testing.B) {
				s := newBenchScheduler(b, mode)
				eps := testfleet.Upstream(n, benchModel)
				req := &framework.InferenceRequest{RequestID: "bench-request", TargetModel: benchModel, Prompt: prompt(0)}
				ctx := context.Background()
				// Warm the pools and the prefix cache outside the timing.
				for i := range warm {
					*req = framework.InferenceRequest{RequestID: "bench-request", TargetModel: benchModel, Prompt: prompt(i)}
					if _, err := s.Schedule(ctx, req, eps); err != nil {
						b.Fatal(err)
					}
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					// A fresh request each time, as an EPP schedules: the
					// prefix scorer hashes every prompt anew and keeps its
					// hashes on the request.
					*req = framework.InferenceRequest{RequestID: "bench-request", TargetModel: benchModel, Prompt: prompt(warm + i)}
					if _, err := s.Schedule(ctx, req, eps); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				runtime.ReadMemStats(&after)
				cost := benchCost{
					ns:     float64(b.Elapsed().Nanoseconds()) / float64(b.N),
					allocs: float64(after.Mallocs-before.Mallocs) / float64(b.N),
				}
				switch mode {
				case "unsampled":
					unsampled = cost
				case "sampled":
					if unsampled.ns > 0 {
						b.ReportMetric((cost.ns-unsampled.ns)/benchScorers, "extra-ns/span")
						b.ReportMetric((cost.allocs-unsampled.allocs)/benchScorers, "extra-allocs/span")
					}
				}
			})
		}
	}
}

// distinctWarmIterations is how many distinct prompts run before the
// timer: more than the default per-endpoint LRU holds blocks of (31250
// blocks, ~24 per prompt), all won by one endpoint in this fleet.
const distinctWarmIterations = 1500

// distinctPrompts returns prompts that differ from their first block on:
// benchPrompt behind a request number, each of which the prefix index sees
// as new. There are more of them than the benchmark's warm-up and enough
// that one comes back only after the LRU has long evicted it.
var distinctPrompts = sync.OnceValue(func() []string {
	out := make([]string, 8192)
	for i := range out {
		out[i] = fmt.Sprintf("<|request %08d|>\n", i) + benchPrompt
	}
	return out
})

type benchCost struct{ ns, allocs float64 }

func newBenchScheduler(b *testing.B, mode string) *scheduler.Scheduler {
	b.Helper()
	var opts []scheduler.Option
	switch mode {
	case "absent":
		opts = append(opts, scheduler.WithoutTracing())
	case "noop":
		// The OTel global as it is before any SDK is installed. No test of
		// this binary installs one in-process (TestGlobalProvider does so
		// in a child process).
		if !scheduler.IsGlobalDefault(otel.GetTracerProvider()) {
			b.Fatalf("noop mode needs the global's default provider, found %T", otel.GetTracerProvider())
		}
	case "unsampled":
		opts = append(opts, scheduler.WithTracerProvider(benchSDK(b, sdktrace.NeverSample())))
	case "sampled":
		opts = append(opts, scheduler.WithTracerProvider(benchSDK(b, sdktrace.AlwaysSample())))
	default:
		b.Fatalf("unknown tracing mode %q", mode)
	}
	handler, profile := benchPlugins(b, 1, opts)
	s, err := scheduler.New(handler, map[string]*scheduler.Profile{profile.Name(): profile})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchSDK(b *testing.B, sampler sdktrace.Sampler) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// benchPrompt is a chat completion flattened the way an EPP hands it to
// the scorers: a system prompt shared by a tenant's requests, then the
// user's turn. About 1.5 KB.
var benchPrompt = func() string {
	var sb strings.Builder
	sb.WriteString("<|system|>\nYou are a careful SQL assistant for the analytics team. ")
	sb.WriteString("Answer with a single PostgreSQL query and a one-line explanation. ")
	sb.WriteString("Use only the tables and columns described below; never invent a column. ")
	sb.WriteString("Prefer CTEs to nested subqueries, qualify every column with its table alias, ")
	sb.WriteString("and format dates as ISO 8601.\n\nSchema:\n")
	for _, t := range []string{
		"orders(id bigint primary key, customer_id bigint, created_at timestamptz, status text, total_cents bigint)",
		"customers(id bigint primary key, name text, region text, signed_up_at timestamptz, tier text)",
		"order_items(order_id bigint, sku text, quantity int, unit_price_cents bigint)",
		"products(sku text primary key, title text, category text, launched_at date)",
		"refunds(id bigint primary key, order_id bigint, amount_cents bigint, reason text, created_at timestamptz)",
	} {
		sb.WriteString("- " + t + "\n")
	}
	sb.WriteString("\n<|user|>\nFor each region, list the three product categories with the highest revenue ")
	sb.WriteString("in the last full quarter, net of refunds, together with the share of that region's revenue ")
	sb.WriteString("they represent and the change against the same quarter one year earlier. Only count orders ")
	sb.WriteString("whose status is 'completed' or 'shipped', and ignore customers on the internal test tier. ")
	sb.WriteString("Sort by region, then by revenue descending.\n<|assistant|>\n")
	return sb.String()
}()
