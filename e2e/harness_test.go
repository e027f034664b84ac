// Package e2e tests the built collector from the outside: real OTLP in over
// gRPC and HTTP, traces read back from the file exporter, metrics scraped
// from the Prometheus endpoints and parsed with expfmt. `make e2e` builds the
// collector and passes its path in SCORELENS_COLLECTOR.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

const testConfig = "testdata/e2e.yaml"

// collectorBinary is the collector under test. Unset is a failure, not a
// skip: a green run that tested nothing would hide a broken build.
func collectorBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SCORELENS_COLLECTOR")
	if bin == "" {
		t.Fatal("SCORELENS_COLLECTOR is not set: run the end-to-end tests with `make e2e` " +
			"(it builds otelcol-dist/otelcol-dist and passes its path), or set it to a built collector binary")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatalf("SCORELENS_COLLECTOR=%q: %v", bin, err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("SCORELENS_COLLECTOR=%q: %v (build it with `make collector`)", bin, err)
	}
	return abs
}

var (
	eppsimOnce sync.Once
	eppsimDir  string // removed by TestMain
	eppsimPath string
	eppsimErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if eppsimDir != "" {
		os.RemoveAll(eppsimDir)
	}
	os.Exit(code)
}

// eppsimBinary is SCORELENS_EPPSIM when set (make builds it), else eppsim
// built once from the workspace into a temporary folder.
func eppsimBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SCORELENS_EPPSIM"); p != "" {
		return p
	}
	eppsimOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scorelens-e2e-eppsim")
		if err != nil {
			eppsimErr = fmt.Errorf("folder for eppsim: %w", err)
			return
		}
		eppsimDir, eppsimPath = dir, filepath.Join(dir, "eppsim")
		out, err := exec.Command("go", "build", "-o", eppsimPath, "github.com/scorelens/scorelens/scheduler/cmd/eppsim").CombinedOutput()
		if err != nil {
			eppsimErr = fmt.Errorf("go build eppsim: %w\n%s", err, out)
		}
	})
	if eppsimErr != nil {
		t.Fatal(eppsimErr)
	}
	return eppsimPath
}

// collector is one running collector on free loopback ports.
type collector struct {
	proc               *otelcol.Process
	grpc, http         string // host:port of the OTLP receiver
	metricsURL, ownURL string
	tracesFile         string
}

// startCollector runs the collector under test with testdata/e2e.yaml on
// free ports; cleanup stops it with SIGTERM and fails the test unless it
// exits cleanly. A failing test gets the collector's log tail.
func startCollector(t *testing.T, extraEnv ...string) *collector {
	t.Helper()
	bin := collectorBinary(t)
	ports, err := otelcol.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	c := &collector{
		grpc:       addr(ports[0]),
		http:       addr(ports[1]),
		metricsURL: "http://" + addr(ports[2]) + "/metrics",
		ownURL:     "http://" + addr(ports[3]) + "/metrics",
		tracesFile: filepath.Join(dir, "traces.jsonl"),
	}
	env := []string{
		"SCORELENS_E2E_OTLP_GRPC=" + c.grpc,
		"SCORELENS_E2E_OTLP_HTTP=" + c.http,
		"SCORELENS_E2E_PROMETHEUS=" + addr(ports[2]),
		"SCORELENS_E2E_TELEMETRY_PORT=" + strconv.Itoa(ports[3]),
		"SCORELENS_E2E_HEALTH=" + addr(ports[4]),
		"SCORELENS_E2E_TRACES_FILE=" + c.tracesFile,
	}
	env = append(env, extraEnv...)
	proc, err := otelcol.Start(bin, testConfig, filepath.Join(dir, "collector.log"), env)
	if err != nil {
		t.Fatal(err)
	}
	c.proc = proc
	t.Cleanup(func() {
		if err := proc.Stop(15 * time.Second); err != nil {
			t.Errorf("stop collector: %v", err)
		}
		if t.Failed() {
			t.Logf("last lines of the collector's log:\n%s", proc.LogTail(40))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := proc.WaitHealthy(ctx, "http://"+addr(ports[4])+"/"); err != nil {
		t.Fatal(err)
	}
	return c
}

// span is one exported span with its resource.
type span struct {
	ptrace.Span
	resource pcommon.Resource
}

// exportedSpans reads every complete line the file exporter has written so
// far (one OTLP/JSON export request per line).
func (c *collector) exportedSpans(t *testing.T) []span {
	t.Helper()
	b, err := os.ReadFile(c.tracesFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("read exported traces: %v", err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		return nil // a partly written first line
	}
	var out []span
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	var u ptrace.JSONUnmarshaler
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		td, err := u.UnmarshalTraces(sc.Bytes())
		if err != nil {
			t.Fatalf("exported traces: bad line: %v", err)
		}
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					out = append(out, span{Span: s, resource: rs.Resource()})
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("exported traces: %v", err)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes; cond returns
// what it saw, for the failure message.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v; last seen: %s", what, timeout, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *collector) scrape(t *testing.T, url string) otelcol.Families {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fams, err := otelcol.Scrape(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// counter sums a counter whatever suffix convention the exporter used.
func counter(fams otelcol.Families, name string, match map[string]string) float64 {
	return fams.Sum(name, match) + fams.Sum(name+"_total", match)
}

// inScope says whether the processor's default config puts a span in scope
// of the rule: the schema spans and upstream's scheduling spans.
func inScope(name string) bool {
	return schema.Classify(name) != schema.NotSchema || slices.Contains(schema.UpstreamSpans(), name)
}

// scorerKey is what the connector keys a scorer series by: the type
// attribute (the span name's type when absent) and the name attribute.
type scorerKey struct{ typ, name string }

// scorerSpans counts exported scorer spans by scorer type and name.
func scorerSpans(spans []span) map[scorerKey]int {
	out := map[scorerKey]int{}
	for _, s := range spans {
		if schema.Classify(s.Name()) != schema.Scorer {
			continue
		}
		var k scorerKey
		if v, ok := s.Attributes().Get(schema.AttrScorerType); ok {
			k.typ = v.Str()
		}
		if k.typ == "" {
			k.typ, _ = schema.ScorerType(s.Name())
		}
		if v, ok := s.Attributes().Get(schema.AttrScorerName); ok {
			k.name = v.Str()
		}
		out[k]++
	}
	return out
}

var (
	scorerMetric    = otelcol.PromName(schema.MetricScorerDuration) + "_seconds"
	typeLabel       = otelcol.PromName(schema.AttrScorerType)
	nameLabel       = otelcol.PromName(schema.AttrScorerName)
	modelLabel      = otelcol.PromName(schema.AttrRequestModel)
	processorPrefix = "otelcol_processor_eppscoring_"
)

// waitScorerCounts polls the connector's Prometheus endpoint until its
// scorer histograms count exactly the scorer spans the file exporter holds.
func (c *collector) waitScorerCounts(t *testing.T, want map[scorerKey]int) otelcol.Families {
	t.Helper()
	var fams otelcol.Families
	eventually(t, 30*time.Second, "scorer histogram counts equal the exported scorer spans", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f, err := otelcol.Scrape(ctx, c.metricsURL)
		if err != nil {
			return false, err.Error()
		}
		rows, err := f.HistogramBy(scorerMetric, typeLabel, nameLabel)
		if err != nil {
			return false, err.Error()
		}
		got := map[scorerKey]int{}
		for _, r := range rows {
			got[scorerKey{r.Labels[0], r.Labels[1]}] = int(r.Count)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return false, fmt.Sprintf("scrape %v, want %v", got, want)
		}
		fams = f
		return true, ""
	})
	return fams
}

// runEppsim runs eppsim to its end, sending its spans over OTLP/gRPC to
// grpc (host:port), with env added to the environment, and returns its
// summary (stderr). The test fails when eppsim does: it exits 1 on any
// span it could not deliver.
func runEppsim(t *testing.T, grpc string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(eppsimBinary(t), args...)
	cmd.Env = append(append(os.Environ(),
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+grpc,
	), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("eppsim: %v\n%s", err, stderr.String())
	}
	return stderr.String()
}
