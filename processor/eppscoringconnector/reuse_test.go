package eppscoringconnector

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// TestDeferredSlotReuse: deferred slots are not zeroed when the tail is
// joined (they are cleared at the batch's end), so a scorer parsed into a
// slot that held a chain must not inherit the chain's fields.
func TestDeferredSlotReuse(t *testing.T) {
	a := newAggregator(createDefaultConfig())
	const now = 1
	res := a.resourceFor(pcommon.NewResource(), now)

	// A stale chain observation left past the end of the deferred slice.
	stale := a.pushDeferred()
	*stale = obs{
		family: familyScoring, wait: waitProfile, candidates: 7, tied: 3, margin: 0.5, hasMargin: true,
		scoreMax: 0.9, scoreAvg: 0.4, batchOnly: true, parent: 9, profile: "p",
	}
	a.deferred = a.deferred[:0]

	span := ptrace.NewSpan()
	span.SetName(schema.ScorerSpanPrefix + "queue-scorer")
	span.SetTraceID(pcommon.TraceID{1})
	span.SetSpanID(pcommon.SpanID{2})
	span.SetParentSpanID(pcommon.SpanID{3})
	span.SetStartTimestamp(10)
	span.SetEndTimestamp(20)
	span.Attributes().PutStr(schema.AttrScorerName, "queue")
	a.observeScorer(res, span, false, 1, now)

	if len(a.deferred) != 1 {
		t.Fatalf("%d deferred observations, want 1", len(a.deferred))
	}
	got := a.deferred[0]
	want := obs{
		res: res, family: familyScorer, wait: waitScoring, typ: "queue-scorer", name: "queue",
		duration: 10e-9, weight: 1, decisive: -1,
		trace: span.TraceID(), span: span.SpanID(), end: span.EndTimestamp(), parent: spanKey(span.ParentSpanID()),
	}
	if got != want {
		t.Errorf("reused slot:\n got %+v\nwant %+v", got, want)
	}

	a.resolveDeferred(now + 1)
	if a.deferredHigh != 0 || len(a.deferred) != 0 {
		t.Errorf("after the batch: %d deferred, high-water mark %d, want 0, 0", len(a.deferred), a.deferredHigh)
	}
	if full := a.deferred[:cap(a.deferred)]; len(full) > 0 && full[0] != (obs{}) {
		t.Errorf("slot not cleared at the batch's end: %+v", full[0])
	}
}
