package scorer

import (
	"context"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// Upstream types of the min-max scorers.
const (
	// QueueType is the type of the waiting-queue scorer.
	QueueType = "queue-scorer"
	// RunningRequestsType is the type of the running-requests scorer.
	RunningRequestsType = "running-requests-size-scorer"
)

// Queue prefers endpoints with short waiting queues, min-max normalized
// across the candidates: (max-q)/(max-min), 1 for every endpoint when all
// queues are equal.
type Queue struct {
	name framework.TypedName
}

var _ framework.Scorer = (*Queue)(nil)

// NewQueue returns a queue scorer named name (the type when empty).
func NewQueue(name string) *Queue {
	return &Queue{name: framework.NewTypedName(QueueType, name)}
}

// TypedName implements framework.Plugin.
func (s *Queue) TypedName() framework.TypedName { return s.name }

// Category implements framework.Scorer.
func (s *Queue) Category() framework.ScorerCategory { return framework.Distribution }

// Score implements framework.Scorer. Endpoints without metrics keep no
// score and take no part in the min and max.
func (s *Queue) Score(_ context.Context, _ *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	minMax(endpoints, scores, false)
}

// RunningRequests prefers endpoints running fewer requests, with the queue
// scorer's min-max formula over RunningRequestsSize.
type RunningRequests struct {
	name framework.TypedName
}

var _ framework.Scorer = (*RunningRequests)(nil)

// NewRunningRequests returns a running-requests scorer named name (the type
// when empty).
func NewRunningRequests(name string) *RunningRequests {
	return &RunningRequests{name: framework.NewTypedName(RunningRequestsType, name)}
}

// TypedName implements framework.Plugin.
func (s *RunningRequests) TypedName() framework.TypedName { return s.name }

// Category implements framework.Scorer.
func (s *RunningRequests) Category() framework.ScorerCategory { return framework.Distribution }

// Score implements framework.Scorer, as Queue.Score over running requests.
func (s *RunningRequests) Score(_ context.Context, _ *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	minMax(endpoints, scores, true)
}

// minMax writes (max-v)/(max-min) of the waiting queue, or of the running
// requests when running is set, into scores. The raw values are
// parked in scores on the first pass so that each endpoint's metrics are
// fetched once (GetMetrics is an interface call an EPP may back with a lock).
func minMax(endpoints []framework.Endpoint, scores []float64, running bool) {
	lo, hi := 0.0, 0.0
	seen := false
	for i, ep := range endpoints {
		m := ep.GetMetrics()
		if m == nil {
			continue
		}
		v := float64(m.WaitingQueueSize)
		if running {
			v = float64(m.RunningRequestsSize)
		}
		scores[i] = v
		if !seen || v < lo {
			lo = v
		}
		if !seen || v > hi {
			hi = v
		}
		seen = true
	}
	if !seen {
		return
	}
	span := hi - lo
	for i, v := range scores {
		if !framework.Scored(v) {
			continue
		}
		if span == 0 {
			scores[i] = 1
			continue
		}
		scores[i] = (hi - v) / span
	}
}
