package eppscoringprocessor

import (
	"strings"
	"sync"
	"sync/atomic"
)

// scorerTypes is the bounded set of scorer types the processor lets through
// as span names. ConsumeTraces runs concurrently, and every scorer span
// looks its type up, so reads are lock-free on an immutable snapshot; the
// mutex only serialises the (at most limit) insertions, each of which
// publishes a copy. A full set answers misses without locking.
type scorerTypes struct {
	limit int
	full  atomic.Bool
	snap  atomic.Pointer[map[string]struct{}]
	mu    sync.Mutex
}

func newScorerTypes(limit int) *scorerTypes {
	s := &scorerTypes{limit: limit}
	empty := map[string]struct{}{}
	s.snap.Store(&empty)
	return s
}

// admit reports whether typ is, or now becomes, one of the allowed types.
func (s *scorerTypes) admit(typ string) bool {
	if _, ok := (*s.snap.Load())[typ]; ok {
		return true
	}
	if s.full.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.snap.Load()
	if _, ok := cur[typ]; ok {
		return true
	}
	if len(cur) >= s.limit {
		s.full.Store(true)
		return false
	}
	next := make(map[string]struct{}, len(cur)+1)
	for k := range cur {
		next[k] = struct{}{}
	}
	// Clone: the name's bytes belong to a batch that must not stay alive.
	next[strings.Clone(typ)] = struct{}{}
	s.snap.Store(&next)
	return true
}
