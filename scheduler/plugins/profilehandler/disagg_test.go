package profilehandler

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
	"github.com/scorelens/scorelens/scheduler/schema"
)

type fixedDecider bool

func (fixedDecider) TypedName() framework.TypedName {
	return framework.TypedName{Type: "fixed", Name: "fixed"}
}
func (d fixedDecider) Disaggregate(context.Context, *framework.InferenceRequest, framework.Endpoint) bool {
	return bool(d)
}

// TestDisaggCycle runs the handler's rounds as the scheduler does and
// checks upstream's order (decode, then prefill when the decider says so),
// the decision recorded in each pick_disagg_profile span, and the result.
func TestDisaggCycle(t *testing.T) {
	ep := testfleet.Endpoint("ns/decode-0", framework.Metrics{})
	pre := testfleet.Endpoint("ns/prefill-0", framework.Metrics{})
	profiles := map[string]framework.Profile{DefaultDecodeProfile: profile{}, DefaultPrefillProfile: profile{}}
	tests := []struct {
		name      string
		decider   Decider
		decoded   []framework.Endpoint
		decisions []string
		wantErr   error
		primary   int // targets of the prefill profile in the result
	}{
		{"prefill-decode", fixedDecider(true), []framework.Endpoint{ep}, []string{DecisionRunDecode, DecisionRunPrefill, DecisionCompletePrefillDecode}, nil, 1},
		{"decider says no", fixedDecider(false), []framework.Endpoint{ep}, []string{DecisionRunDecode, DecisionCompleteDecodeOnly}, nil, 0},
		{"no decider", nil, []framework.Endpoint{ep}, []string{DecisionRunDecode, DecisionCompleteDecodeOnly}, nil, 0},
		{"decode picked none", fixedDecider(true), nil, []string{DecisionRunDecode, DecisionComplete}, ErrNoDecode, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			ctx, root := tp.Tracer("t").Start(context.Background(), "gateway.request")
			h := NewDisagg("", "", "", tc.decider)
			req := &framework.InferenceRequest{RequestID: "r-1", TargetModel: "m"}
			results := map[string]*framework.ProfileRunResult{}
			var ran []string
			for round := 0; round < 4; round++ {
				next := h.Pick(ctx, req, profiles, results)
				if len(next) == 0 {
					break
				}
				for name := range next {
					ran = append(ran, name)
					switch name {
					case DefaultDecodeProfile:
						results[name] = &framework.ProfileRunResult{TargetEndpoints: tc.decoded}
					case DefaultPrefillProfile:
						results[name] = &framework.ProfileRunResult{TargetEndpoints: []framework.Endpoint{pre}}
					}
				}
			}
			root.End()
			var decisions []string
			for _, sp := range rec.Ended() {
				if sp.Name() != schema.SpanPickDisaggProfile {
					continue
				}
				attrs := map[attribute.Key]attribute.Value{}
				for _, kv := range sp.Attributes() {
					attrs[kv.Key] = kv.Value
				}
				decisions = append(decisions, attrs[schema.AttrProfileHandlerDecision].AsString())
				if attrs[schema.AttrRequestModel].AsString() != "m" || attrs[schema.AttrMMModality].AsString() != schema.MMModalityNone {
					t.Errorf("span attributes %v", attrs)
				}
				if sp.Parent().SpanID() != root.SpanContext().SpanID() {
					t.Errorf("%s not under the request's span", schema.SpanPickDisaggProfile)
				}
			}
			if len(decisions) != len(tc.decisions) {
				t.Fatalf("decisions %v, want %v (profiles run %v)", decisions, tc.decisions, ran)
			}
			for i := range decisions {
				if decisions[i] != tc.decisions[i] {
					t.Fatalf("decisions %v, want %v", decisions, tc.decisions)
				}
			}
			res, err := h.ProcessResults(ctx, req, results)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ProcessResults error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if res.PrimaryProfileName != DefaultDecodeProfile || res.ProfileResults[DefaultDecodeProfile].TargetEndpoints[0] != ep {
				t.Errorf("result %+v: decode must be primary", res)
			}
			if got := res.ProfileResults[DefaultPrefillProfile]; (got != nil) != (tc.primary == 1) {
				t.Errorf("prefill result %v, want present %v", got, tc.primary == 1)
			}
		})
	}
}

// TestDisaggMissingDecodeProfile: a configuration without the decode
// profile ends the cycle at once.
func TestDisaggMissingDecodeProfile(t *testing.T) {
	h := NewDisagg("", "", "", fixedDecider(true))
	if next := h.Pick(context.Background(), &framework.InferenceRequest{}, map[string]framework.Profile{"other": profile{}}, map[string]*framework.ProfileRunResult{}); len(next) != 0 {
		t.Errorf("picked %v without a decode profile", next)
	}
}

type matcher map[string]int

func (m matcher) MatchedBytes(_ *framework.InferenceRequest, id string) int { return m[id] }

func TestPrefixBasedDecider(t *testing.T) {
	ep := testfleet.Endpoint("ns/a", framework.Metrics{})
	long := &framework.InferenceRequest{Prompt: string(make([]byte, 1000))}
	tests := []struct {
		name      string
		threshold int
		cached    int
		req       *framework.InferenceRequest
		want      bool
	}{
		{"long prompt, nothing cached", 500, 0, long, true},
		{"long prompt, mostly cached", 500, 600, long, false},
		{"exactly the threshold uncached", 500, 500, long, true},
		{"short prompt", 2000, 0, long, false},
		{"disabled", 0, 0, long, false},
	}
	for _, tc := range tests {
		d, err := NewPrefixBased("", tc.threshold, matcher{"ns/a": tc.cached})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Disaggregate(context.Background(), tc.req, ep); got != tc.want {
			t.Errorf("%s: Disaggregate = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := NewPrefixBased("", -1, nil); err == nil {
		t.Error("a negative threshold is accepted")
	}
}
