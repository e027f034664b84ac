package profilehandler

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/instrument"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// DisaggType is upstream's type of the prefill/decode profile handler.
const DisaggType = "disagg-profile-handler"

// Upstream's default profile names.
const (
	DefaultDecodeProfile  = "decode"
	DefaultPrefillProfile = "prefill"
)

// Decisions the handler records on its pick_disagg_profile span
// (schema.AttrProfileHandlerDecision), upstream's values.
const (
	DecisionRunDecode             = "run_decode"
	DecisionRunPrefill            = "run_prefill"
	DecisionSkipPrefill           = "skip_prefill"
	DecisionComplete              = "complete"
	DecisionCompleteDecodeOnly    = "complete_decode-only"
	DecisionCompletePrefillDecode = "complete_prefill-decode"
	DecisionMissingDecodeProfile  = "error_missing_decode_profile"
)

// TracerScope is the instrumentation scope of the profile handlers' spans.
const TracerScope = "github.com/scorelens/scorelens/scheduler/plugins/profilehandler"

// Decider decides whether a request is worth a separate prefill, given the
// endpoint its decode profile picked.
type Decider interface {
	framework.Plugin
	Disaggregate(ctx context.Context, req *framework.InferenceRequest, decode framework.Endpoint) bool
}

// Disagg is upstream's prefill/decode disaggregation handler: it runs the
// decode profile first; once decode has picked an endpoint, it asks its
// Decider whether to run the prefill profile too; then it ends the cycle.
// The decode profile is primary. Each Pick runs in a pick_disagg_profile
// span carrying the decision, as upstream's (only when the request's span
// records). Without a decider it never disaggregates.
type Disagg struct {
	name            framework.TypedName
	decode, prefill string
	decider         Decider
	tracer          *instrument.PluginTracer
}

var _ framework.ProfileHandler = (*Disagg)(nil)

// NewDisagg returns a prefill/decode handler named name (the type when
// empty) over the named profiles (upstream's defaults when empty).
func NewDisagg(name, decodeProfile, prefillProfile string, decider Decider) *Disagg {
	if decodeProfile == "" {
		decodeProfile = DefaultDecodeProfile
	}
	if prefillProfile == "" {
		prefillProfile = DefaultPrefillProfile
	}
	return &Disagg{
		name:    framework.NewTypedName(DisaggType, name),
		decode:  decodeProfile,
		prefill: prefillProfile,
		decider: decider,
		tracer:  instrument.NewPluginTracer(TracerScope),
	}
}

// TypedName implements framework.Plugin.
func (h *Disagg) TypedName() framework.TypedName { return h.name }

var (
	keyDecision     = attribute.Key(schema.AttrProfileHandlerDecision)
	keyDecodeFailed = attribute.Key(schema.AttrProfileHandlerDecodeFailed)
)

// Pick implements framework.ProfileHandler. A prefill profile the decider
// turns down is recorded in results as run with no result (nil), as
// upstream's, so that it is not asked again.
func (h *Disagg) Pick(ctx context.Context, req *framework.InferenceRequest, profiles map[string]framework.Profile, results map[string]*framework.ProfileRunResult) map[string]framework.Profile {
	_, span, traced := h.tracer.Start(ctx, schema.SpanPickDisaggProfile)
	decision, next := h.pick(ctx, req, profiles, results)
	if traced {
		endDecision(span, req, decision)
	}
	return next
}

func (h *Disagg) pick(ctx context.Context, req *framework.InferenceRequest, profiles map[string]framework.Profile, results map[string]*framework.ProfileRunResult) (string, map[string]framework.Profile) {
	if _, ran := results[h.decode]; !ran {
		p, ok := profiles[h.decode]
		if !ok {
			return DecisionMissingDecodeProfile, nil
		}
		return DecisionRunDecode, map[string]framework.Profile{h.decode: p}
	}
	decoded := results[h.decode]
	if decoded == nil || len(decoded.TargetEndpoints) == 0 {
		return DecisionComplete, nil
	}
	if p, ok := profiles[h.prefill]; ok {
		if _, ran := results[h.prefill]; !ran {
			if h.decider != nil && h.decider.Disaggregate(ctx, req, decoded.TargetEndpoints[0]) {
				return DecisionRunPrefill, map[string]framework.Profile{h.prefill: p}
			}
			results[h.prefill] = nil
		}
	}
	if results[h.prefill] != nil {
		return DecisionCompletePrefillDecode, nil
	}
	return DecisionCompleteDecodeOnly, nil
}

// endDecision sets upstream's attributes of pick_disagg_profile: the
// request's model and id, its multimodal summary (a text request: none, 0)
// and the decision; decode_failed when decode picked nothing.
func endDecision(span trace.Span, req *framework.InferenceRequest, decision string) {
	var buf [6]attribute.KeyValue
	a := buf[:0]
	if req != nil {
		a = instrument.Request{Model: req.TargetModel, ID: req.RequestID}.AppendAttributes(a)
		a = instrument.AppendNoMultimodal(a)
	}
	a = append(a, keyDecision.String(decision))
	if decision == DecisionComplete {
		a = append(a, keyDecodeFailed.Bool(true))
	}
	span.SetAttributes(a...)
	span.End()
}

// ErrNoDecode is returned (wrapped) by Disagg.ProcessResults when the
// decode profile picked no endpoint.
var ErrNoDecode = errors.New("decode profile picked no endpoint")

// ProcessResults implements framework.ProfileHandler: the decode result is
// required and primary; the prefill result is kept when prefill ran.
func (h *Disagg) ProcessResults(_ context.Context, _ *framework.InferenceRequest, results map[string]*framework.ProfileRunResult) (*framework.SchedulingResult, error) {
	decoded := results[h.decode]
	if decoded == nil || len(decoded.TargetEndpoints) == 0 {
		return nil, fmt.Errorf("profile %q: %w", h.decode, ErrNoDecode)
	}
	out := map[string]*framework.ProfileRunResult{h.decode: decoded}
	if p := results[h.prefill]; p != nil {
		out[h.prefill] = p
	}
	return &framework.SchedulingResult{ProfileResults: out, PrimaryProfileName: h.decode}, nil
}

// PrefixMatcher tells how many leading bytes of the request's prompt an
// endpoint holds in its KV cache (the prefix-cache scorer's estimate).
type PrefixMatcher interface {
	MatchedBytes(req *framework.InferenceRequest, endpointID string) int
}

// PrefixBasedDeciderType is upstream's type of the prefix-based decider.
const PrefixBasedDeciderType = "prefix-based-pd-decider"

// PrefixBased is upstream's prefix-based decider in bytes rather than
// tokens (this module does not tokenize): a request is disaggregated when
// the part of its prompt the decode endpoint does not hold in cache is at
// least NonCachedBytes long. Zero disables disaggregation, as upstream's.
type PrefixBased struct {
	name           framework.TypedName
	nonCachedBytes int
	matcher        PrefixMatcher
}

var _ Decider = (*PrefixBased)(nil)

// NewPrefixBased returns a prefix-based decider named name (the type when
// empty). matcher may be nil: the whole prompt then counts as not cached.
func NewPrefixBased(name string, nonCachedBytes int, matcher PrefixMatcher) (*PrefixBased, error) {
	if nonCachedBytes < 0 {
		return nil, fmt.Errorf("%s %q: nonCachedBytes %d: must not be negative", PrefixBasedDeciderType, name, nonCachedBytes)
	}
	return &PrefixBased{name: framework.NewTypedName(PrefixBasedDeciderType, name), nonCachedBytes: nonCachedBytes, matcher: matcher}, nil
}

// TypedName implements framework.Plugin.
func (d *PrefixBased) TypedName() framework.TypedName { return d.name }

// Disaggregate implements Decider.
func (d *PrefixBased) Disaggregate(_ context.Context, req *framework.InferenceRequest, decode framework.Endpoint) bool {
	if d.nonCachedBytes == 0 || req == nil || decode == nil || len(req.Prompt) < d.nonCachedBytes {
		return false
	}
	cached := 0
	if md := decode.GetMetadata(); md != nil && d.matcher != nil {
		cached = d.matcher.MatchedBytes(req, md.ID)
	}
	return len(req.Prompt)-cached >= d.nonCachedBytes
}
