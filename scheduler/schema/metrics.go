package schema

// Metric names and metric-only attribute keys of the collector connector
// eppscoring, which derives metrics from the spans above. They live here so
// that the connector, its fixtures' tests and any dashboard code share one
// spelling.
//
// Where a metric is the distribution of one span attribute, it carries that
// attribute's key as its name, so the two cannot drift apart.
const (
	// MetricScorerDuration is the histogram (unit s) of one scorer
	// invocation's duration, by scorer type, name and, when known, model.
	MetricScorerDuration = "llm_d.epp.scorer.duration"
	// MetricScoringDuration is the histogram (unit s) of the whole scorer
	// chain's duration, by model.
	MetricScoringDuration = "llm_d.epp.scoring.duration"
	// MetricScorerCalls counts scorer invocations (monotonic sum).
	MetricScorerCalls = "llm_d.epp.scorer.calls"
	// MetricScorerErrors counts scorer invocations whose span ended with
	// status Error (monotonic sum).
	MetricScorerErrors = "llm_d.epp.scorer.errors"
	// MetricScorerScoreMax is the histogram of the largest score a scorer
	// returned per invocation.
	MetricScorerScoreMax = AttrScoreMax
	// MetricScorerScoreAvg is the histogram of the mean score a scorer
	// returned per invocation.
	MetricScorerScoreAvg = AttrScoreAvg
	// MetricScoringCandidates is the histogram of how many endpoints a chain
	// scored per request.
	MetricScoringCandidates = AttrScoringCandidates
	// MetricScorerDecisive counts the scorer invocations that were decisive
	// (AttrScorerDecisive true; monotonic sum), by the scorer series' keys:
	// over MetricScorerCalls, the share of picks the scorer decided.
	MetricScorerDecisive = AttrScorerDecisive
	// MetricScoringMargin is the histogram of the normalized margin between
	// the best and the runner-up weighted totals, per chain that has one.
	MetricScoringMargin = AttrScoringMargin
	// MetricScoringTies counts the chains whose best weighted total was
	// shared by two endpoints or more (AttrScoringTied > 1; monotonic sum):
	// picks that were a coin toss.
	MetricScoringTies = "llm_d.epp.scoring.ties"
)

// AttrMetricOverflow marks the one series per metric into which a
// cardinality-limited aggregation folds every series beyond its limit (the
// key the OpenTelemetry SDKs and the spanmetrics connector use).
const AttrMetricOverflow = "otel.metric.overflow"

// Metrics returns the connector's metric names in the order it emits them,
// as a fresh slice (for docs and tests).
func Metrics() []string {
	return []string{
		MetricScorerDuration,
		MetricScorerCalls,
		MetricScorerErrors,
		MetricScorerScoreMax,
		MetricScorerScoreAvg,
		MetricScorerDecisive,
		MetricScoringDuration,
		MetricScoringCandidates,
		MetricScoringMargin,
		MetricScoringTies,
	}
}

// AttrCollectorInstanceID is the resource attribute the connector puts on
// every metric it emits: the emitting collector's own service.instance.id,
// so that the series of several collector replicas (a second tier behind a
// trace-ID load balancer) never share an identity in a push backend.
// contrib's spanmetrics connector uses the same key.
const AttrCollectorInstanceID = "collector.instance.id"

// AttrSamplingMethod is the data point attribute saying how a series'
// counts were obtained (contrib's spanmetrics connector uses the same key
// and values, behind its enable_metrics_sampling_method setting):
// SamplingMethodExtrapolated when they were scaled up from sampled spans
// (a sampling threshold in the span's tracestate, or a configured sampling
// ratio below 1), SamplingMethodCounted when every span counted once.
const AttrSamplingMethod = "sampling.method"

// Values of AttrSamplingMethod.
const (
	// SamplingMethodExtrapolated marks counts scaled by the spans' adjusted
	// count (the inverse of their sampling probability).
	SamplingMethodExtrapolated = "extrapolated"
	// SamplingMethodCounted marks counts where each span counted once.
	SamplingMethodCounted = "counted"
)
