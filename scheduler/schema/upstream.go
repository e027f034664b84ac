package schema

// Names and keys of upstream llm-d EPP's scheduling spans (llm-d-router,
// pkg/epp/scheduling and pkg/epp/framework/plugins/scheduling), as its own
// code emits them (the fixtures in the repo's testdata hold real traces).
// The scoring spans above are the schema proper; these are the spans around
// them in the same trace. They are defined here, once, because the
// scheduler module emits the ones that carry no endpoint identity, the
// collector components read or police all of them, and tests compare
// against upstream's.

// Instrumentation scopes of upstream's scheduling spans, and the prefix
// they share: every span of the EPP's scheduling path carries a scope under
// it, including ones upstream adds later.
const (
	// UpstreamScopePrefix is the common prefix of upstream EPP's
	// instrumentation scopes.
	UpstreamScopePrefix = "llm-d-router/pkg/epp"
	// ScopeUpstreamScheduling is the scope of run_scheduler_profile,
	// filter_endpoints, the scoring spans and pick_endpoints.
	ScopeUpstreamScheduling = "llm-d-router/pkg/epp/scheduling"
	// ScopeUpstreamPlugins is the scope of the scheduling plugins' own
	// spans (pick_disagg_profile, prepare_disaggregation, ...).
	ScopeUpstreamPlugins = "llm-d-router/pkg/epp/framework/plugins/scheduling"
	// ScopeScheduler is the instrumentation scope of this module's
	// scheduling spans.
	ScopeScheduler = "github.com/scorelens/scorelens/scheduler"
)

// Upstream span names around the scoring spans.
const (
	// SpanRunSchedulerProfile wraps one profile's run; its scoring span
	// nests under it.
	SpanRunSchedulerProfile = "run_scheduler_profile"
	// SpanFilterEndpoints wraps a profile's filters.
	SpanFilterEndpoints = "filter_endpoints"
	// SpanPickEndpoints wraps a profile's picker.
	SpanPickEndpoints = "pick_endpoints"
	// SpanScorePrefixCache is the prefix-cache scorer's own span, under its
	// scorer span.
	SpanScorePrefixCache = "score_prefix_cache"
	// SpanPickDisaggProfile is one profile decision of upstream's
	// prefill/decode profile handler.
	SpanPickDisaggProfile = "pick_disagg_profile"
	// SpanPrepareDisaggregation is upstream's P/D pre-request step; it
	// names the prefill pod (AttrPDPrefillPodAddress).
	SpanPrepareDisaggregation = "prepare_disaggregation"
)

// Attribute keys on upstream's scheduling spans.
const (
	// AttrProfileName is the scheduler profile's name (string) on
	// SpanRunSchedulerProfile: "default", or "prefill" / "decode" with
	// disaggregation.
	AttrProfileName = "llm_d.epp.scheduling.profile.name"
	// AttrFilterCandidates is the number of endpoints given to the filters
	// (int) on SpanFilterEndpoints.
	AttrFilterCandidates = "llm_d.epp.filter.candidate_endpoints"
	// AttrFilterFiltered is the number of endpoints the filters kept (int)
	// on SpanFilterEndpoints.
	AttrFilterFiltered = "llm_d.epp.filter.filtered_endpoints"
	// AttrPickerCandidates is the number of scored endpoints given to the
	// picker (int) on SpanPickEndpoints.
	AttrPickerCandidates = "llm_d.epp.picker.candidate_endpoints"
	// AttrPickerTopEndpoints is upstream's string slice of up to five
	// picked endpoint ids ("namespace/pod-rank-N") on SpanPickEndpoints:
	// the known leak. This module never emits it.
	AttrPickerTopEndpoints = "llm_d.epp.picker.top_endpoints"
	// AttrPickerTopScores is upstream's float slice of the scores that go
	// with AttrPickerTopEndpoints, index-aligned.
	AttrPickerTopScores = "llm_d.epp.picker.top_scores"
	// AttrProfileHandlerDecision is the decision (string, e.g. "run_decode")
	// on SpanPickDisaggProfile.
	AttrProfileHandlerDecision = "llm_d.epp.profile_handler.decision"
	// AttrPDDisaggregationUsed tells whether prefill/decode disaggregation
	// was used (bool) on SpanPrepareDisaggregation.
	AttrPDDisaggregationUsed = "llm_d.epp.pd.disaggregation_used"
	// AttrPDPrefillPodAddress is the prefill pod's IP (string) on
	// SpanPrepareDisaggregation: an endpoint identity. Never emitted here.
	AttrPDPrefillPodAddress = "llm_d.epp.pd.prefill_pod_address"
	// AttrPDPrefillPodPort is the prefill pod's port (string).
	AttrPDPrefillPodPort = "llm_d.epp.pd.prefill_pod_port"
	// AttrEncodeDisaggregationUsed tells whether encode disaggregation was
	// used (bool).
	AttrEncodeDisaggregationUsed = "llm_d.epp.encode.disaggregation_used"
	// AttrEncodeReason says why encode disaggregation was or was not used
	// (string).
	AttrEncodeReason = "llm_d.epp.encode.reason"
	// AttrEncodeEndpoints is a comma-joined host:port list (string) in
	// encode/prefill/decode mode: an endpoint identity. Never emitted here.
	AttrEncodeEndpoints = "llm_d.epp.encode.endpoints"
	// AttrMMModality is the request's multimodal modality (string).
	AttrMMModality = "mm.modality"
	// AttrMMHashCount is the number of multimodal content hashes (int).
	AttrMMHashCount = "mm.hash_count"
	// AttrMMHit tells whether any endpoint held a multimodal block of the
	// request (bool) on SpanScorePrefixCache; upstream sets it only when
	// some endpoint tracks multimodal blocks.
	AttrMMHit = "mm.hit"
	// AttrProfileHandlerDecodeFailed is set (bool, true) on
	// SpanPickDisaggProfile when the decode profile picked no endpoint.
	AttrProfileHandlerDecodeFailed = "llm_d.epp.profile_handler.decode_failed"
)

// MMModalityNone is upstream's AttrMMModality value of a request without
// multimodal content.
const MMModalityNone = "none"

// Keys of upstream's P/D sidecar (service llm-d-disagg-sidecar): host:port
// strings, endpoint identities all.
const (
	AttrPDProxyPrefillTarget = "llm_d.pd_proxy.prefill_target"
	AttrPDProxyDecodeTarget  = "llm_d.pd_proxy.decode.target"
	AttrPDProxyDeniedTarget  = "llm_d.pd_proxy.denied_target"
)

// UpstreamAttributes returns the attribute keys, with their value types,
// that upstream's own code puts on the named scheduling span, as a fresh
// slice in the order upstream sets them; nil for a name it does not know.
// Scorer spans are named by ScorerSpanPrefix alone (their keys do not
// depend on the scorer type). Keys upstream sets only in a rare case
// (mm.hit without multimodal tracking, decode_failed, error reasons) are
// left out: the list is what a trace of ordinary traffic carries, the
// key set the fixtures in the repository's testdata show.
//
// It includes the keys that name endpoints (AttrPickerTopEndpoints), which
// this module never emits: see OmittedUpstreamKey.
func UpstreamAttributes(spanName string) []Attribute {
	request := []Attribute{{AttrRequestModel, TypeString}, {AttrRequestID, TypeString}}
	mm := []Attribute{{AttrMMModality, TypeString}, {AttrMMHashCount, TypeInt}}
	switch spanName {
	case SpanRunSchedulerProfile:
		return []Attribute{{AttrProfileName, TypeString}}
	case SpanFilterEndpoints:
		return append([]Attribute{{AttrFilterCandidates, TypeInt}}, append(request, Attribute{AttrFilterFiltered, TypeInt})...)
	case SpanScoring:
		return append([]Attribute{{AttrScorerCount, TypeInt}, {AttrScoringCandidates, TypeInt}}, request...)
	case ScorerSpanPrefix:
		return []Attribute{
			{AttrScorerType, TypeString}, {AttrScorerName, TypeString}, {AttrScorerWeight, TypeFloat},
			{AttrScorerCandidates, TypeInt}, {AttrScoreMax, TypeFloat}, {AttrScoreAvg, TypeFloat},
			{AttrEndpointsScored, TypeInt},
		}
	case SpanPickEndpoints:
		return append([]Attribute{
			{AttrPickerCandidates, TypeInt}, {AttrPickerTopEndpoints, TypeStringSlice}, {AttrPickerTopScores, TypeFloatSlice},
		}, request...)
	case SpanScorePrefixCache:
		out := append([]Attribute{{AttrScorerCandidates, TypeInt}}, request...)
		out = append(out, mm...)
		return append(out, Attribute{AttrScoreMax, TypeFloat}, Attribute{AttrScoreAvg, TypeFloat}, Attribute{AttrEndpointsScored, TypeInt})
	case SpanPickDisaggProfile:
		return append(append(request, mm...), Attribute{AttrProfileHandlerDecision, TypeString})
	case SpanPrepareDisaggregation:
		return append(append(request, mm...),
			Attribute{AttrPDDisaggregationUsed, TypeBool}, Attribute{AttrPDPrefillPodAddress, TypeString},
			Attribute{AttrPDPrefillPodPort, TypeString}, Attribute{AttrEncodeDisaggregationUsed, TypeBool},
			Attribute{AttrEncodeReason, TypeString})
	}
	return nil
}

// OmittedUpstreamKey tells whether this module deliberately never emits
// key, which upstream's span of that name carries: the keys that name an
// endpoint (pick_endpoints' endpoint ids; the prefill pod's address and
// port on prepare_disaggregation, a span this module does not make).
func OmittedUpstreamKey(spanName, key string) bool {
	switch spanName {
	case SpanPickEndpoints:
		return key == AttrPickerTopEndpoints
	case SpanPrepareDisaggregation:
		return key == AttrPDPrefillPodAddress || key == AttrPDPrefillPodPort || key == AttrEncodeEndpoints
	}
	return false
}

// MaxTopScores is how many of the highest weighted scores upstream lists in
// AttrPickerTopScores (and ids in AttrPickerTopEndpoints).
const MaxTopScores = 5
