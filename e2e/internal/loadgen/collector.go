package loadgen

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
)

// Collector is a collector run with e2e/testdata/load.yaml (or a config
// with the same SCORELENS_LOAD_* variables) on free loopback ports,
// exporting to a sink.
type Collector struct {
	Proc               *otelcol.Process
	bin, config, dir   string
	env                []string
	starts             int
	GRPC, HTTP         string // OTLP receiver host:port
	OwnURL, MetricsURL string // own telemetry; the connector's Prometheus exporter
	HealthURL          string
}

// StartCollector starts bin with config, exporting to sinkAddr; extraEnv
// is appended (e.g. SCORELENS_LOAD_LIMIT_MIB=...). Logs go to dir.
func StartCollector(ctx context.Context, bin, config, dir, sinkAddr string, extraEnv ...string) (*Collector, error) {
	ports, err := otelcol.FreePorts(6)
	if err != nil {
		return nil, err
	}
	a := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	c := &Collector{
		bin: bin, config: config, dir: dir,
		GRPC: a(ports[0]), HTTP: a(ports[1]),
		OwnURL:     "http://" + a(ports[2]) + "/metrics",
		MetricsURL: "http://" + a(ports[3]) + "/metrics",
		HealthURL:  "http://" + a(ports[4]) + "/",
	}
	c.env = append([]string{
		"SCORELENS_LOAD_OTLP_GRPC=" + c.GRPC,
		"SCORELENS_LOAD_OTLP_HTTP=" + c.HTTP,
		"SCORELENS_LOAD_TELEMETRY_PORT=" + strconv.Itoa(ports[2]),
		"SCORELENS_LOAD_PROMETHEUS=" + a(ports[3]),
		"SCORELENS_LOAD_HEALTH=" + a(ports[4]),
		"SCORELENS_LOAD_SINK=" + sinkAddr,
	}, extraEnv...)
	return c, c.Restart(ctx)
}

// Restart starts the collector again on the same ports (after Kill or
// Stop), and waits until it is healthy.
func (c *Collector) Restart(ctx context.Context) error {
	c.starts++
	log := filepath.Join(c.dir, fmt.Sprintf("collector-%d.log", c.starts))
	proc, err := otelcol.Start(c.bin, c.config, log, c.env)
	if err != nil {
		return err
	}
	c.Proc = proc
	hctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := proc.WaitHealthy(hctx, c.HealthURL); err != nil {
		_ = proc.Kill()
		return fmt.Errorf("%w\n%s", err, proc.LogTail(20))
	}
	return nil
}

// Alive says whether the process still runs.
func (c *Collector) Alive() bool {
	select {
	case <-c.Proc.Done():
		return false
	default:
		return true
	}
}

// Counters are the collector's own span counters, summed over labels.
type Counters struct {
	Accepted, Refused, Failed float64 // receiver
	Sent, SendFailed, Enqueue float64 // exporter to the sink
	QueueSize                 float64
}

// OwnCounters scrapes the collector's own telemetry.
func (c *Collector) OwnCounters(ctx context.Context) (Counters, error) {
	f, err := otelcol.Scrape(ctx, c.OwnURL)
	if err != nil {
		return Counters{}, err
	}
	sum := func(name string) float64 { return f.Sum(name, nil) + f.Sum(name+"_total", nil) }
	exp := map[string]string{"exporter": "otlp_grpc/sink"}
	sumExp := func(name string) float64 { return f.Sum(name, exp) + f.Sum(name+"_total", exp) }
	return Counters{
		Accepted:   sum("otelcol_receiver_accepted_spans"),
		Refused:    sum("otelcol_receiver_refused_spans"),
		Failed:     sum("otelcol_receiver_failed_spans"),
		Sent:       sumExp("otelcol_exporter_sent_spans"),
		SendFailed: sumExp("otelcol_exporter_send_failed_spans"),
		Enqueue:    sumExp("otelcol_exporter_enqueue_failed_spans"),
		QueueSize:  sumExp("otelcol_exporter_queue_size"),
	}, nil
}

// WaitDrained polls until the exporter has sent everything the receiver
// accepted (its queue empty) and the sink holds at least that many spans
// beyond base, the spans it had received before this collector process
// started (the collector's counters start at zero with each process).
func (c *Collector) WaitDrained(ctx context.Context, sink *Sink, base int64, timeout time.Duration) (Counters, error) {
	deadline := time.Now().Add(timeout)
	var last Counters
	for {
		cs, err := c.OwnCounters(ctx)
		if err == nil {
			last = cs
			if cs.Sent == cs.Accepted && cs.QueueSize == 0 && sink.Spans()-base >= int64(cs.Sent) {
				return cs, nil
			}
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("not drained within %v: accepted %v, exported %v, queue %v, sink %d",
				timeout, last.Accepted, last.Sent, last.QueueSize, sink.Spans()-base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the collector with SIGTERM.
func (c *Collector) Stop() error { return c.Proc.Stop(30 * time.Second) }

// LogTail is the end of the current run's log.
func (c *Collector) LogTail(n int) string { return c.Proc.LogTail(n) }
