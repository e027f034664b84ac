package eppscoringconnector

import (
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pmetric"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

// Aggregation temporalities, spelled like the spanmetrics connector's; the
// short forms "cumulative" and "delta" are accepted too.
const (
	temporalityCumulative = "AGGREGATION_TEMPORALITY_CUMULATIVE"
	temporalityDelta      = "AGGREGATION_TEMPORALITY_DELTA"
)

// defaultBuckets cover scorers that take microseconds to milliseconds and
// chains up to a second. They start at 1µs because in-process scorers
// (kv-cache, queue, lora) take a few microseconds: with a first bound at
// 10µs their p50 would be unreadable. They contain upstream EPP's
// plugin-duration buckets (0.0001 … 0.1 s) so the two can be compared
// bucket for bucket.
var defaultBuckets = []time.Duration{
	time.Microsecond, 2500 * time.Nanosecond, 5 * time.Microsecond,
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
}

// DefaultBuckets returns a copy of the explicit duration buckets used when
// histogram.explicit.buckets is not set (comparisons such as the bench
// module configure other components with the same bounds).
func DefaultBuckets() []time.Duration {
	return append([]time.Duration(nil), defaultBuckets...)
}

const (
	defaultFlushInterval     = 15 * time.Second
	defaultCardinalityLimit  = 1000
	defaultExpoMaxSize       = 160
	defaultExemplarsPerPoint = 5
	defaultJoinTimeout       = 10 * time.Second
	defaultJoinMaxPending    = 10000
	// An hour without a span: the EPP deployment (resource) or the model
	// (series) is gone. Long enough that a quiet night keeps its counters.
	defaultExpiration = time.Hour

	// Upper bounds that keep a typo from turning into gigabytes.
	maxExplicitBuckets = 256
	maxExpoMaxSize     = 16384
	maxExemplars       = 1000
)

// Config is the eppscoring connector's configuration. Names follow the
// spanmetrics connector where the meaning is the same.
type Config struct {
	// MetricsFlushInterval is how often the aggregated metrics are emitted.
	MetricsFlushInterval time.Duration `mapstructure:"metrics_flush_interval"`
	// AggregationTemporality is AGGREGATION_TEMPORALITY_CUMULATIVE (default)
	// or AGGREGATION_TEMPORALITY_DELTA (or cumulative / delta).
	AggregationTemporality string `mapstructure:"aggregation_temporality"`
	// AggregationCardinalityLimit caps the series of each family (scorer
	// series, scoring series) and the resources held; observations beyond
	// it fold into one series marked otel.metric.overflow=true. Unlike
	// spanmetrics, 0 (unlimited) is not allowed: memory is bounded by it.
	AggregationCardinalityLimit int `mapstructure:"aggregation_cardinality_limit"`
	// Histogram selects explicit (default) or exponential duration histograms.
	Histogram HistogramConfig `mapstructure:"histogram"`
	// Exemplars attaches trace and span ids to duration data points.
	Exemplars ExemplarsConfig `mapstructure:"exemplars"`
	// ResourceMetricsKeyAttributes are the resource attributes that key (and
	// are copied onto) the emitted resource metrics; empty means all of them.
	ResourceMetricsKeyAttributes []string `mapstructure:"resource_metrics_key_attributes"`
	// MetricsExpiration drops a resource's series once no schema span of it
	// arrived for this long; 0 keeps them (bounded by the cardinality limit).
	MetricsExpiration time.Duration `mapstructure:"metrics_expiration"`
	// SeriesExpiration drops one series once it had no observation for this
	// long; 0 keeps it (bounded by the cardinality limit).
	SeriesExpiration time.Duration `mapstructure:"series_expiration"`
	// ParentJoin bounds how long and how many observations wait for their
	// parent's model (scorers) or profile (chains and their scorers).
	ParentJoin ParentJoinConfig `mapstructure:"parent_join"`
	// EnableMetricsSamplingMethod adds the sampling.method data point
	// attribute ("extrapolated" or "counted"), contrib's name; on by
	// default here (off in spanmetrics).
	EnableMetricsSamplingMethod bool `mapstructure:"enable_metrics_sampling_method"`
	// Sampling gives the sampling ratio of senders that write no sampling
	// threshold into the tracestate, so their counts can be extrapolated.
	Sampling SamplingConfig `mapstructure:"sampling"`
}

// SamplingConfig is the sampling ratio assumed for spans whose tracestate
// carries no OpenTelemetry sampling threshold (ot=th), such as those of the
// OTel SDKs' traceidratio samplers. A threshold on the span always wins.
type SamplingConfig struct {
	// DefaultRatio applies to services not listed in RatioByService
	// (default 1: every span counts once).
	DefaultRatio float64 `mapstructure:"default_ratio"`
	// RatioByService maps a resource's service.name to the ratio its
	// sampler keeps, e.g. {epp: 0.1} for upstream EPP's default.
	RatioByService map[string]float64 `mapstructure:"ratio_by_service"`
}

// HistogramConfig selects the duration histogram kind: set at most one.
type HistogramConfig struct {
	// Explicit selects explicit-bucket histograms (the default when
	// neither is set).
	Explicit *ExplicitHistogramConfig `mapstructure:"explicit"`
	// Exponential selects base-2 exponential histograms.
	Exponential *ExponentialHistogramConfig `mapstructure:"exponential"`
}

// ExplicitHistogramConfig configures explicit-bucket histograms.
type ExplicitHistogramConfig struct {
	// Buckets are the upper bounds; empty means the default buckets.
	Buckets []time.Duration `mapstructure:"buckets"`
}

// ExponentialHistogramConfig configures base-2 exponential histograms.
type ExponentialHistogramConfig struct {
	// MaxSize is the most positive buckets a data point holds (default 160).
	MaxSize int32 `mapstructure:"max_size"`
}

// ExemplarsConfig configures exemplars on the duration histograms.
type ExemplarsConfig struct {
	// Enabled attaches exemplars; off by default.
	Enabled bool `mapstructure:"enabled"`
	// MaxPerDataPoint caps the exemplars kept per data point per flush
	// (default 5); the newest ones are kept.
	MaxPerDataPoint int `mapstructure:"max_per_data_point"`
}

// ParentJoinConfig bounds the wait of scorer observations for the parent
// scoring span that carries the model.
type ParentJoinConfig struct {
	// Timeout is how long an observation waits before it is emitted without
	// the model.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxPending caps the observations waiting; beyond it the oldest are
	// emitted without the model.
	MaxPending int `mapstructure:"max_pending"`
}

func createDefaultConfig() *Config {
	return &Config{
		MetricsFlushInterval:        defaultFlushInterval,
		AggregationTemporality:      temporalityCumulative,
		AggregationCardinalityLimit: defaultCardinalityLimit,
		Exemplars:                   ExemplarsConfig{MaxPerDataPoint: defaultExemplarsPerPoint},
		ParentJoin:                  ParentJoinConfig{Timeout: defaultJoinTimeout, MaxPending: defaultJoinMaxPending},
		// Pods come and go (a new service.instance.id and k8s.pod.name each
		// time): keying by them would spend a resource, and series, per
		// pod lifetime. These survive restarts.
		ResourceMetricsKeyAttributes: DefaultResourceKeyAttributes(),
		MetricsExpiration:            defaultExpiration,
		SeriesExpiration:             defaultExpiration,
		EnableMetricsSamplingMethod:  true,
		Sampling:                     SamplingConfig{DefaultRatio: 1},
	}
}

// DefaultResourceKeyAttributes returns the default
// resource_metrics_key_attributes: what names an EPP deployment, not one
// of its pods.
func DefaultResourceKeyAttributes() []string {
	return []string{string(semconv.ServiceNamespaceKey), string(semconv.ServiceNameKey), string(semconv.K8SNamespaceNameKey)}
}

var _ confmap.Validator = (*Config)(nil)

// Validate reports every invalid field, each error naming its field.
func (c *Config) Validate() error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.MetricsFlushInterval <= 0 {
		fail("metrics_flush_interval", "must be positive, got %v", c.MetricsFlushInterval)
	}
	if _, ok := parseTemporality(c.AggregationTemporality); !ok {
		fail("aggregation_temporality", "must be %s or %s (or cumulative, delta), got %q",
			temporalityCumulative, temporalityDelta, c.AggregationTemporality)
	}
	if c.AggregationCardinalityLimit <= 0 {
		fail("aggregation_cardinality_limit", "must be positive (memory is bounded by it), got %d", c.AggregationCardinalityLimit)
	}
	if c.Histogram.Explicit != nil && c.Histogram.Exponential != nil {
		fail("histogram", "set either explicit or exponential, not both")
	}
	if e := c.Histogram.Explicit; e != nil {
		if len(e.Buckets) > maxExplicitBuckets {
			fail("histogram.explicit.buckets", "at most %d buckets, got %d", maxExplicitBuckets, len(e.Buckets))
		}
		for i, b := range e.Buckets {
			if b <= 0 {
				fail("histogram.explicit.buckets", "bucket %d must be positive, got %v", i, b)
			} else if i > 0 && b <= e.Buckets[i-1] {
				fail("histogram.explicit.buckets", "must increase strictly, bucket %d (%v) follows %v", i, b, e.Buckets[i-1])
			}
		}
	}
	if e := c.Histogram.Exponential; e != nil && e.MaxSize != 0 && (e.MaxSize < 2 || e.MaxSize > maxExpoMaxSize) {
		fail("histogram.exponential.max_size", "must be 0 (default %d) or in [2, %d], got %d", defaultExpoMaxSize, maxExpoMaxSize, e.MaxSize)
	}
	if c.Exemplars.Enabled && (c.Exemplars.MaxPerDataPoint <= 0 || c.Exemplars.MaxPerDataPoint > maxExemplars) {
		fail("exemplars.max_per_data_point", "must be in [1, %d] when exemplars are enabled, got %d", maxExemplars, c.Exemplars.MaxPerDataPoint)
	}
	seen := make(map[string]bool, len(c.ResourceMetricsKeyAttributes))
	for i, k := range c.ResourceMetricsKeyAttributes {
		switch {
		case k == "":
			fail("resource_metrics_key_attributes", "entry %d is empty", i)
		case seen[k]:
			fail("resource_metrics_key_attributes", "%q listed twice", k)
		}
		seen[k] = true
	}
	if c.MetricsExpiration < 0 {
		fail("metrics_expiration", "must not be negative, got %v", c.MetricsExpiration)
	}
	if c.SeriesExpiration < 0 {
		fail("series_expiration", "must not be negative, got %v", c.SeriesExpiration)
	}
	if c.ParentJoin.Timeout <= 0 {
		fail("parent_join.timeout", "must be positive, got %v", c.ParentJoin.Timeout)
	}
	if c.ParentJoin.MaxPending <= 0 || c.ParentJoin.MaxPending > math.MaxInt32/2 {
		fail("parent_join.max_pending", "must be in [1, %d], got %d", math.MaxInt32/2, c.ParentJoin.MaxPending)
	}
	if r := c.Sampling.DefaultRatio; !validRatio(r) {
		fail("sampling.default_ratio", "must be in (0, 1], got %v", r)
	}
	for svc, r := range c.Sampling.RatioByService {
		if !validRatio(r) {
			fail("sampling.ratio_by_service", "%q: must be in (0, 1], got %v", svc, r)
		}
	}
	return errors.Join(errs...)
}

func validRatio(r float64) bool { return r > 0 && r <= 1 }

func parseTemporality(s string) (pmetric.AggregationTemporality, bool) {
	switch s {
	case temporalityCumulative, "cumulative", "":
		return pmetric.AggregationTemporalityCumulative, true
	case temporalityDelta, "delta":
		return pmetric.AggregationTemporalityDelta, true
	}
	return pmetric.AggregationTemporalityUnspecified, false
}

// bucketBounds returns the explicit bounds in seconds, the unit emitted.
func (c *Config) bucketBounds() []float64 {
	buckets := defaultBuckets
	if c.Histogram.Explicit != nil && len(c.Histogram.Explicit.Buckets) > 0 {
		buckets = c.Histogram.Explicit.Buckets
	}
	out := make([]float64, len(buckets))
	for i, b := range buckets {
		out[i] = b.Seconds()
	}
	return out
}

// expoMaxSize returns the exponential histogram size, or 0 for explicit.
func (c *Config) expoMaxSize() int32 {
	if c.Histogram.Exponential == nil {
		return 0
	}
	if c.Histogram.Exponential.MaxSize == 0 {
		return defaultExpoMaxSize
	}
	return c.Histogram.Exponential.MaxSize
}
