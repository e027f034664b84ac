package eppscoringconnector

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.uber.org/zap"
)

// eppConnector turns scoring spans into metrics: ConsumeTraces aggregates
// under one lock per batch, a ticker flushes to the next consumer.
type eppConnector struct {
	cfg    *Config
	next   consumer.Metrics
	logger *zap.Logger
	now    func() time.Time // a test clock replaces it

	mu  sync.Mutex // guards agg, tel and the overflow warnings
	agg *aggregator
	tel *telemetry
	// When each family last warned of its overflow, and the observations
	// folded since (zero time: never warned).
	overflowWarned [nFamilies]time.Time
	overflowFolded [nFamilies]int64

	stop     chan struct{}
	done     sync.WaitGroup
	shutdown sync.Once
}

func newConnector(set connector.Settings, cfg *Config, next consumer.Metrics) (*eppConnector, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("eppscoring connector telemetry: %w", err)
	}
	agg := newAggregator(cfg)
	agg.instanceID = collectorInstanceID(set.Resource)
	agg.version = set.BuildInfo.Version
	return &eppConnector{
		cfg:    cfg,
		next:   next,
		logger: set.Logger,
		now:    time.Now,
		agg:    agg,
		tel:    tel,
		stop:   make(chan struct{}),
	}, nil
}

// collectorInstanceID returns the collector's own service.instance.id (the
// service sets a random UUID unless the telemetry config gives one), the
// value contrib's spanmetrics connector means to put under the same key.
// Without one (a bare test harness), a random UUID, as contrib falls back.
func collectorInstanceID(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get(string(semconv.ServiceInstanceIDKey)); ok && v.AsString() != "" {
		return v.AsString()
	}
	return randomUUID()
}

// randomUUID returns a version 4 UUID (RFC 9562) from crypto/rand.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Capabilities reports that the connector only reads the spans.
func (c *eppConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// Start runs the flush ticker.
func (c *eppConnector) Start(context.Context, component.Host) error {
	c.done.Add(1)
	go c.flushLoop()
	return nil
}

func (c *eppConnector) flushLoop() {
	defer c.done.Done()
	ticker := time.NewTicker(c.cfg.MetricsFlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-ticker.C:
			if err := c.flush(context.Background()); err != nil {
				c.logger.Warn("eppscoring connector: flushing metrics failed", zap.Error(err))
			}
		}
	}
}

// Shutdown stops the ticker, emits the observations still waiting for
// their parent (without the model) and flushes one last time.
func (c *eppConnector) Shutdown(ctx context.Context) error {
	var err error
	c.shutdown.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.mu.Lock()
		c.agg.drainPending(c.now().UnixNano())
		c.mu.Unlock()
		err = c.flush(ctx)
	})
	return err
}

// ConsumeTraces aggregates a batch; metrics leave on the next flush.
func (c *eppConnector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	now := c.now()
	c.mu.Lock()
	c.agg.consume(td, now.UnixNano())
	c.reportLocked(ctx, now)
	c.mu.Unlock()
	return nil
}

// flush emits the aggregated metrics to the next consumer. Tests call it
// directly instead of waiting for the ticker.
func (c *eppConnector) flush(ctx context.Context) error {
	now := c.now()
	c.mu.Lock()
	c.agg.expirePending(now.UnixNano())
	md := c.agg.emit(now.UnixNano())
	c.reportLocked(ctx, now)
	c.mu.Unlock()
	if md.DataPointCount() == 0 {
		return nil
	}
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		return fmt.Errorf("eppscoring connector: next consumer: %w", err)
	}
	return nil
}

func (c *eppConnector) reportLocked(ctx context.Context, now time.Time) {
	a := c.agg
	c.tel.report(ctx, &a.stats, int64(a.join.used), [nFamilies]int64{int64(a.nChains), int64(a.nScorers)})
	c.warnOverflowLocked(now)
	a.stats = stats{}
}

// overflowWarnEvery is the least time between two overflow warnings of one
// family: the first overflow is logged at once, later ones are summed.
const overflowWarnEvery = 10 * time.Minute

// warnOverflowLocked logs, rate-limited, that a family's series overflow:
// an operator must hear of it before reading dashboards built on folded
// series. The counter otelcol_connector_eppscoring_series_overflow has
// every observation; the log says what to do.
func (c *eppConnector) warnOverflowLocked(now time.Time) {
	for f, n := range c.agg.stats.overflow {
		c.overflowFolded[f] += n
		if c.overflowFolded[f] == 0 {
			continue
		}
		if last := c.overflowWarned[f]; !last.IsZero() && now.Sub(last) < overflowWarnEvery {
			continue
		}
		first := c.overflowWarned[f].IsZero()
		c.logger.Warn("eppscoring connector: series beyond aggregation_cardinality_limit fold into the otel.metric.overflow series",
			zap.String("family", familyNames[f]),
			zap.Int("aggregation_cardinality_limit", c.cfg.AggregationCardinalityLimit),
			zap.Int64("observations_folded", c.overflowFolded[f]),
			zap.Bool("first", first),
			zap.Duration("next_warning_after", overflowWarnEvery),
			zap.String("hint", "raise aggregation_cardinality_limit, key resources by fewer attributes "+
				"(resource_metrics_key_attributes), or set series_expiration / metrics_expiration"))
		c.overflowWarned[f], c.overflowFolded[f] = now, 0
	}
}
