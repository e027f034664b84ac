package eppscoringconnector

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// eppConnector turns scoring spans into metrics: ConsumeTraces aggregates
// under one lock per batch, a ticker flushes to the next consumer.
type eppConnector struct {
	cfg    *Config
	next   consumer.Metrics
	logger *zap.Logger
	now    func() time.Time // a test clock replaces it

	mu  sync.Mutex // guards agg and tel
	agg *aggregator
	tel *telemetry

	stop     chan struct{}
	done     sync.WaitGroup
	shutdown sync.Once
}

func newConnector(set component.TelemetrySettings, cfg *Config, next consumer.Metrics) (*eppConnector, error) {
	tel, err := newTelemetry(set)
	if err != nil {
		return nil, fmt.Errorf("eppscoring connector telemetry: %w", err)
	}
	return &eppConnector{
		cfg:    cfg,
		next:   next,
		logger: set.Logger,
		now:    time.Now,
		agg:    newAggregator(cfg),
		tel:    tel,
		stop:   make(chan struct{}),
	}, nil
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
	now := c.now().UnixNano()
	c.mu.Lock()
	c.agg.consume(td, now)
	c.reportLocked(ctx)
	c.mu.Unlock()
	return nil
}

// flush emits the aggregated metrics to the next consumer. Tests call it
// directly instead of waiting for the ticker.
func (c *eppConnector) flush(ctx context.Context) error {
	now := c.now().UnixNano()
	c.mu.Lock()
	c.agg.expirePending(now)
	md := c.agg.emit(now)
	c.reportLocked(ctx)
	c.mu.Unlock()
	if md.DataPointCount() == 0 {
		return nil
	}
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		return fmt.Errorf("eppscoring connector: next consumer: %w", err)
	}
	return nil
}

func (c *eppConnector) reportLocked(ctx context.Context) {
	a := c.agg
	c.tel.report(ctx, &a.stats, int64(a.join.used), [nFamilies]int64{int64(a.nChains), int64(a.nScorers)})
	a.stats = stats{}
}
