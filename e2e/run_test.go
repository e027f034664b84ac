package e2e

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

// buildRun builds the program behind `make run`.
func buildRun(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scorelens-run")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/scorelens-run").CombinedOutput(); err != nil {
		t.Fatalf("go build scorelens-run: %v\n%s", err, out)
	}
	return bin
}

// runArgs points scorelens-run at the test config on free ports; the
// collector it starts inherits the SCORELENS_E2E_* environment.
func runArgs(t *testing.T, collector, sim string, ports []int) ([]string, []string) {
	t.Helper()
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	dir := t.TempDir()
	env := []string{
		"SCORELENS_E2E_OTLP_GRPC=" + addr(ports[0]),
		"SCORELENS_E2E_OTLP_HTTP=" + addr(ports[1]),
		"SCORELENS_E2E_PROMETHEUS=" + addr(ports[2]),
		"SCORELENS_E2E_TELEMETRY_PORT=" + strconv.Itoa(ports[3]),
		"SCORELENS_E2E_HEALTH=" + addr(ports[4]),
		"SCORELENS_E2E_TRACES_FILE=" + filepath.Join(dir, "traces.jsonl"),
	}
	args := []string{
		"-collector", collector, "-config", testConfig, "-eppsim", sim, "-log", filepath.Join(dir, "collector.log"),
		"-otlp", addr(ports[0]), "-otlp-http", addr(ports[1]),
		"-metrics", "http://" + addr(ports[2]) + "/metrics",
		"-telemetry", "http://" + addr(ports[3]) + "/metrics",
		"-health", "http://" + addr(ports[4]) + "/",
		"-requests", "200", "-settle", "1s",
	}
	return args, env
}

// TestScorelensRun runs the program behind `make run` end to end: it must
// print the per-scorer table with the sampler in effect, the connector's
// counts next to eppsim's true ones, and the processor's counts, and stop
// the collector cleanly. At ratio 1 nothing is extrapolated: every count
// must equal the truth exactly.
func TestScorelensRun(t *testing.T) {
	collector := collectorBinary(t)
	sim := eppsimBinary(t)
	run := buildRun(t)
	for _, tt := range []struct {
		ratio string
		want  []string
	}{
		{"0.25", []string{"sampled with parentbased_traceidratio 0.25", "(th:c)"}},
		{"1", []string{"sampled with parentbased_traceidratio 1", "(th:0)", "true 200 (error +0.0%)"}},
	} {
		t.Run("ratio "+tt.ratio, func(t *testing.T) {
			ports, err := otelcol.FreePorts(5)
			if err != nil {
				t.Fatal(err)
			}
			args, env := runArgs(t, collector, sim, ports)
			cmd := exec.Command(run, append(args, "-sample-ratio", tt.ratio)...)
			cmd.Env = append(os.Environ(), env...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("scorelens-run: %v\n%s", err, out.String())
			}
			for _, want := range append([]string{
				"TYPE", "NAME", "CALLS", "TRUE", "ERROR", "P50", "P99", "DECIDED",
				scorerMetric,
				"who decides (",
				"eppsim: 200 chains, ",
				processorPrefix + "spans_checked",
				"collector stopped cleanly",
			}, tt.want...) {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if tt.ratio != "1" {
				return
			}
			// Every scorer row (led by its profile when the series carry
			// one): calls = true = 200, error +0.0%.
			rows := regexp.MustCompile(`(?m)^(?:\S+ +)?\S+ +\S+ +(\d+) +(\d+) +([-+]\S+%) `).FindAllStringSubmatch(out.String(), -1)
			if len(rows) == 0 {
				t.Fatalf("no scorer rows:\n%s", out.String())
			}
			for _, r := range rows {
				if r[1] != "200" || r[2] != "200" || r[3] != "+0.0%" {
					t.Errorf("row %q: want 200 calls, 200 true, +0.0%%", r[0])
				}
			}
		})
	}
}

// TestScorelensRunPortInUse: a busy port fails before anything starts,
// naming the port and how to find its owner.
func TestScorelensRunPortInUse(t *testing.T) {
	collector := collectorBinary(t)
	sim := eppsimBinary(t)
	run := buildRun(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	ports, err := otelcol.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	ports[2] = busy // the Prometheus exporter's
	args, env := runArgs(t, collector, sim, ports)
	cmd := exec.Command(run, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("scorelens-run succeeded with port %d in use:\n%s", busy, out)
	}
	for _, want := range []string{"port " + strconv.Itoa(busy), "in use", "ss -ltnp"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestEppsimSampledTraffic sends eppsim's traffic sampled at 0.25 through
// the collector and reads every exported span's tracestate with contrib's
// own sampling package (what its spanmetrics connector extrapolates with):
// each must state a threshold worth 4 spans, and the scoring spans that
// arrive must be exactly the chains eppsim says it sampled.
func TestEppsimSampledTraffic(t *testing.T) {
	c := startCollector(t)
	summary := runEppsim(t, c.grpc, []string{"OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.25"},
		"-requests", "800", "-endpoints", "8", "-seed", "5")
	m := regexp.MustCompile(`(?m)^scoring chains: 800, sampled (\d+) `).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("eppsim's summary does not count 800 chains:\n%s", summary)
	}
	sampled, _ := strconv.Atoi(m[1])

	var spans []span
	eventually(t, 30*time.Second, "every accepted span exported to the file", func() (bool, string) {
		accepted := counter(c.scrape(t, c.ownURL), "otelcol_receiver_accepted_spans", nil)
		spans = c.exportedSpans(t)
		return accepted > 0 && float64(len(spans)) == accepted,
			"accepted " + strconv.FormatFloat(accepted, 'f', -1, 64) + ", exported " + strconv.Itoa(len(spans))
	})
	scoring := 0
	for _, s := range spans {
		if s.Name() == schema.SpanScoring {
			scoring++
		}
		ts, err := sampling.NewW3CTraceState(s.TraceState().AsRaw())
		if err != nil {
			t.Fatalf("span %s: tracestate %q: %v", s.Name(), s.TraceState().AsRaw(), err)
		}
		th, ok := ts.OTelValue().TValueThreshold()
		if !ok || ts.OTelValue().AdjustedCount() != 4 {
			t.Fatalf("span %s: tracestate %q: threshold %v (%v), adjusted count %v; want 4",
				s.Name(), s.TraceState().AsRaw(), th, ok, ts.OTelValue().AdjustedCount())
		}
	}
	if scoring != sampled || sampled == 0 {
		t.Errorf("%d scoring spans arrived, eppsim sampled %d chains", scoring, sampled)
	}
}
