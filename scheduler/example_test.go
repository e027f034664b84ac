package scheduler_test

import (
	"context"
	"fmt"
	"log"

	"github.com/scorelens/scorelens/scheduler"
	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/plugins/picker"
	"github.com/scorelens/scorelens/scheduler/plugins/profilehandler"
	"github.com/scorelens/scorelens/scheduler/plugins/scorer"
)

// Example builds the scheduler an EPP would (the README shows the same
// code): one profile, four weighted scorers, a max-score picker. Tracing
// follows the OTel global provider: nothing is traced until an SDK is
// installed, before or after New.
func Example() {
	prefix, err := scorer.NewPrefixCache("", scorer.DefaultPrefixCacheConfig())
	if err != nil {
		log.Fatal(err)
	}
	var weighted []*scheduler.WeightedScorer
	for _, s := range []struct {
		s framework.Scorer
		w float64
	}{{prefix, 3}, {scorer.NewKVCacheUtilization(""), 1}, {scorer.NewQueue(""), 1}, {scorer.NewLoRAAffinity(""), 1}} {
		ws, err := scheduler.NewWeightedScorer(s.s, s.w)
		if err != nil {
			log.Fatal(err)
		}
		weighted = append(weighted, ws)
	}
	profile, err := scheduler.NewProfile("default", nil, weighted, picker.NewMaxScore(""))
	if err != nil {
		log.Fatal(err)
	}
	sched, err := scheduler.New(profilehandler.NewSingle(""), map[string]*scheduler.Profile{"default": profile})
	if err != nil {
		log.Fatal(err)
	}

	// Two endpoints: the second has the model loaded, an empty queue and a
	// cooler KV cache, so every scorer prefers it.
	endpoints := []framework.Endpoint{
		&framework.SimpleEndpoint{
			Metadata: framework.EndpointMetadata{ID: "llm-d/vllm-a", Name: "vllm-a"},
			Metrics:  framework.Metrics{WaitingQueueSize: 4, KVCacheUsagePercent: 0.9, MaxActiveModels: 1, ActiveModels: map[string]int{"other": 1}},
		},
		&framework.SimpleEndpoint{
			Metadata: framework.EndpointMetadata{ID: "llm-d/vllm-b", Name: "vllm-b"},
			Metrics:  framework.Metrics{KVCacheUsagePercent: 0.2, MaxActiveModels: 4, ActiveModels: map[string]int{"llama-3-8b": 1}},
		},
	}
	req := &framework.InferenceRequest{RequestID: "req-1", TargetModel: "llama-3-8b", Prompt: "You are a helpful assistant. Summarize this."}
	result, err := sched.Schedule(context.Background(), req, endpoints)
	if err != nil {
		log.Fatal(err)
	}
	picked := result.ProfileResults[result.PrimaryProfileName].TargetEndpoints[0]
	fmt.Println(picked.GetMetadata().ID)
	// Output: llm-d/vllm-b
}
