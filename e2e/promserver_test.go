package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
)

// prometheusBinary is SCORELENS_PROMETHEUS when set, else `prometheus` on
// PATH (Debian's prometheus package, which .ci/run installs). Missing is a
// failure, not a skip.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SCORELENS_PROMETHEUS"); p != "" {
		return p
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not found on PATH: install Debian's prometheus package (apt-get install prometheus; .ci/run does) " +
			"or set SCORELENS_PROMETHEUS to a Prometheus server binary")
	}
	return p
}

// promServer is a real Prometheus server on a free loopback port.
type promServer struct {
	url     string
	logPath string
}

// promConfig is the scrape configuration the test gives Prometheus: the
// connector's exporter with honor_labels (its job and instance name the EPP
// that sent the spans) and the collector's own telemetry as a plain target.
// It is the configuration the README's "Dashboards and alerts" recommends,
// with 1 s intervals so that the test is quick.
func promConfig(connector, own, rules string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: scorelens-connector
    honor_labels: true
    static_configs:
      - targets: [%q]
  - job_name: otelcol
    static_configs:
      - targets: [%q]
`, rules, connector, own)
}

// startPrometheus runs Prometheus with promConfig on a fresh TSDB; cleanup
// stops it with SIGTERM and fails the test unless it exits cleanly.
func startPrometheus(t *testing.T, connector, own string) *promServer {
	t.Helper()
	bin := prometheusBinary(t)
	rules, err := filepath.Abs("../deploy/prometheus/scorelens.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(promConfig(connector, own, rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	ports, err := otelcol.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	p := &promServer{url: "http://" + addr, logPath: filepath.Join(dir, "prometheus.log")}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithTest(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("prometheus exit after SIGTERM: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("prometheus did not exit within 15s of SIGTERM; killed")
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("prometheus log:\n%s", b)
		}
	})
	eventually(t, 30*time.Second, "prometheus ready", func() (bool, string) {
		select {
		case err := <-done:
			b, _ := os.ReadFile(p.logPath)
			t.Fatalf("prometheus exited before it was ready: %v\n%s", err, b)
		default:
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// promSample is one element of an instant vector.
type promSample struct {
	Labels map[string]string
	Value  float64
}

// key is the sample's labels without __name__, sorted, for messages and maps.
func (s promSample) key(labels ...string) string {
	var parts []string
	for _, l := range labels {
		parts = append(parts, l+"="+s.Labels[l])
	}
	return strings.Join(parts, ",")
}

// query runs an instant query through the HTTP API. A query error (bad
// PromQL, a bad label) is returned as an error; an empty result is not.
func (p *promServer) query(expr string) ([]promSample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q: decode: %w", expr, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", expr, body.ErrorType, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", expr, body.Data.ResultType)
	}
	out := make([]promSample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, ok := r.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("query %q: value %v is not a string", expr, r.Value[1])
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %q: %w", expr, s, err)
		}
		out = append(out, promSample{Labels: r.Metric, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i].Labels) < fmt.Sprint(out[j].Labels) })
	return out, nil
}

// mustQuery is query that fails the test on a query error.
func (p *promServer) mustQuery(t *testing.T, expr string) []promSample {
	t.Helper()
	s, err := p.query(expr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// labelValues is Grafana's label_values(selector, label) through the HTTP API.
func (p *promServer) labelValues(selector, label string) ([]string, error) {
	u := p.url + "/api/v1/label/" + url.PathEscape(label) + "/values?match[]=" + url.QueryEscape(selector)
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("label values %s of %s: %w", label, selector, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("label values %s of %s: %s", label, selector, body.Error)
	}
	return body.Data, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
