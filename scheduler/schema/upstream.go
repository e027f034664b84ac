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
)

// Keys of upstream's P/D sidecar (service llm-d-disagg-sidecar): host:port
// strings, endpoint identities all.
const (
	AttrPDProxyPrefillTarget = "llm_d.pd_proxy.prefill_target"
	AttrPDProxyDecodeTarget  = "llm_d.pd_proxy.decode.target"
	AttrPDProxyDeniedTarget  = "llm_d.pd_proxy.denied_target"
)
