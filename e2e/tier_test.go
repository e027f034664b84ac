package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

const (
	tier1Config    = "../deploy/tier1/config.yaml"
	tier2Config    = "../deploy/tier2/config.yaml"
	tierReplicas   = 3
	tierRequests   = 600
	tierEppsimSeed = "11"
)

// tier1Binary is the first-tier collector (`make tier1`), passed in
// SCORELENS_TIER1 by `make e2e`. Unset is a failure, not a skip.
func tier1Binary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SCORELENS_TIER1")
	if bin == "" {
		t.Fatal("SCORELENS_TIER1 is not set: run the end-to-end tests with `make e2e` " +
			"(it builds deploy/tier1/otelcol-tier1/otelcol-tier1 and passes its path)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("SCORELENS_TIER1=%q: %v (build it with `make tier1`)", bin, err)
	}
	return bin
}

// tierProcess is one collector of the two tiers.
type tierProcess struct {
	id        string
	proc      *otelcol.Process
	otlp      string // OTLP/gRPC host:port
	metrics   string // the connector's Prometheus endpoint (second tier)
	ownURL    string
	healthURL string
}

// startTierProcess starts bin with config and env on loopback; cleanup stops
// it with SIGTERM and fails the test unless it exits cleanly.
func startTierProcess(t *testing.T, bin, config, id string, env []string) *otelcol.Process {
	t.Helper()
	proc, err := otelcol.Start(bin, config, filepath.Join(t.TempDir(), id+".log"), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := proc.Stop(15 * time.Second); err != nil {
			t.Errorf("stop %s: %v", id, err)
		}
		if t.Failed() {
			t.Logf("last lines of %s's log:\n%s", id, proc.LogTail(30))
		}
	})
	return proc
}

// TestTwoTiers runs the scaled-out topology of docs/scaling.md on loopback:
// eppsim -> one first-tier collector (loadbalancing by trace ID) -> three
// otelcol-dist replicas with the shipped deploy/ configs, and checks the
// join held across the tier and the replicas' series never collide.
func TestTwoTiers(t *testing.T) {
	dist, tier1 := collectorBinary(t), tier1Binary(t)
	ports, err := otelcol.FreePorts(4*tierReplicas + 4)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

	replicas := make([]*tierProcess, tierReplicas)
	var endpoints []string
	for i := range replicas {
		p := ports[4*i : 4*i+4]
		r := &tierProcess{
			id:        "otelcol-dist-" + strconv.Itoa(i),
			otlp:      addr(p[0]),
			metrics:   "http://" + addr(p[1]) + "/metrics",
			ownURL:    "http://" + addr(p[2]) + "/metrics",
			healthURL: "http://" + addr(p[3]) + "/",
		}
		r.proc = startTierProcess(t, dist, tier2Config, r.id, []string{
			"SCORELENS_INSTANCE_ID=" + r.id,
			"SCORELENS_TIER2_OTLP_GRPC=" + r.otlp,
			"SCORELENS_TIER2_PROMETHEUS=" + addr(p[1]),
			"SCORELENS_TIER2_TELEMETRY_PORT=" + strconv.Itoa(p[2]),
			"SCORELENS_TIER2_HEALTH=" + addr(p[3]),
			"SCORELENS_TIER2_FLUSH_INTERVAL=500ms",
		})
		replicas[i] = r
		endpoints = append(endpoints, r.otlp)
	}
	p := ports[4*tierReplicas:]
	front := &tierProcess{id: "tier1", otlp: addr(p[0]), ownURL: "http://" + addr(p[2]) + "/metrics", healthURL: "http://" + addr(p[3]) + "/"}
	front.proc = startTierProcess(t, tier1, tier1Config, front.id, []string{
		"SCORELENS_TIER1_OTLP_GRPC=" + front.otlp,
		"SCORELENS_TIER1_OTLP_HTTP=" + addr(p[1]),
		"SCORELENS_TIER1_TELEMETRY_PORT=" + strconv.Itoa(p[2]),
		"SCORELENS_TIER1_HEALTH=" + addr(p[3]),
		"SCORELENS_TIER2_ENDPOINTS=[" + strings.Join(endpoints, ", ") + "]",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range append(replicas, front) {
		if err := c.proc.WaitHealthy(ctx, c.healthURL); err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
	}

	// What eppsim sends: the same seed and flags give the same requests,
	// so a run with the console exporter lists the spans of the OTLP run.
	sim := eppsimBinary(t)
	args := []string{"-requests", strconv.Itoa(tierRequests), "-endpoints", "20", "-rate", "0", "-seed", tierEppsimSeed}
	want, sentSpans := eppsimConsoleScorers(t, sim, args)
	runEppsim(t, front.otlp, nil, args...)

	// Nothing lost in the first tier: it accepted every span eppsim sent
	// and the replicas together accepted every one of them.
	eventually(t, 30*time.Second, "every span through both tiers", func() (bool, string) {
		acc := counter(scrapeOrEmpty(front.ownURL), "otelcol_receiver_accepted_spans", nil)
		var down float64
		for _, r := range replicas {
			down += counter(scrapeOrEmpty(r.ownURL), "otelcol_receiver_accepted_spans", nil)
		}
		return int(acc) == sentSpans && int(down) == sentSpans,
			fmt.Sprintf("eppsim sent %d spans, tier 1 accepted %v, the replicas %v", sentSpans, acc, down)
	})

	// Summed over replicas, every scorer's calls equal what eppsim sent.
	callsMetric := otelcol.PromName(schema.MetricScorerCalls)
	perReplica := make([]otelcol.Families, len(replicas))
	eventually(t, 30*time.Second, "calls summed over replicas equal eppsim's scorer spans", func() (bool, string) {
		got := map[scorerKey]int{}
		for i, r := range replicas {
			perReplica[i] = scrapeOrEmpty(r.metrics)
			for _, s := range perReplica[i].WithPrefix(callsMetric) {
				if s.Name == callsMetric || s.Name == callsMetric+"_total" {
					got[scorerKey{s.Labels[typeLabel], s.Labels[nameLabel]}] += int(s.Value)
				}
			}
		}
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("replicas %v, eppsim %v", got, want)
	})

	// The load was spread: every replica counted calls.
	for i, r := range replicas {
		if n := counter(perReplica[i], callsMetric, nil); n == 0 {
			t.Errorf("%s counted no scorer calls: the first tier sent it nothing", r.id)
		}
	}

	// The join held across the tier: every series of the connector carries
	// the model.
	for i, r := range replicas {
		for name, fam := range perReplica[i] {
			if !strings.HasPrefix(name, "llm_d_epp_") {
				continue
			}
			for _, m := range fam.GetMetric() {
				if v, _ := otelcol.Label(m, modelLabel); v == "" {
					t.Errorf("%s: a %s series lacks %s: %s", r.id, name, modelLabel, seriesID(name, m))
				}
			}
		}
	}

	// No two replicas export the same series identity: each series carries
	// its replica's collector.instance.id (needs the connector to set it).
	instanceLabel := otelcol.PromName(schema.AttrCollectorInstanceID)
	owner := map[string]string{}
	var series, wrongID, shared int
	var firstWrong, firstShared string
	for i, r := range replicas {
		for name, fam := range perReplica[i] {
			if !strings.HasPrefix(name, "llm_d_epp_") {
				continue
			}
			for _, m := range fam.GetMetric() {
				series++
				id := seriesID(name, m)
				if v, _ := otelcol.Label(m, instanceLabel); v != r.id {
					if wrongID++; wrongID == 1 {
						firstWrong = fmt.Sprintf("%s exports %s with %s=%q", r.id, id, instanceLabel, v)
					}
				}
				if prev, ok := owner[id]; ok {
					if shared++; shared == 1 {
						firstShared = fmt.Sprintf("%s exported by both %s and %s", id, prev, r.id)
					}
				}
				owner[id] = r.id
			}
		}
	}
	if series == 0 {
		t.Fatal("no connector series scraped")
	}
	if wrongID > 0 {
		t.Errorf("%d of %d series lack their replica's %s; first: %s", wrongID, series, instanceLabel, firstWrong)
	}
	if shared > 0 {
		t.Errorf("%d of %d series share their identity with another replica's; first: %s", shared, series, firstShared)
	}
}

// seriesID is a series' identity: its family and every label.
func seriesID(family string, m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, l.GetName()+"="+strconv.Quote(l.GetValue()))
	}
	sort.Strings(ls)
	return family + "{" + strings.Join(ls, ",") + "}"
}

// scrapeOrEmpty scrapes url; a failed scrape is an empty result (polled).
func scrapeOrEmpty(url string) otelcol.Families {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := otelcol.Scrape(ctx, url)
	if err != nil {
		return otelcol.Families{}
	}
	return f
}

// eppsimConsoleScorers runs eppsim with the console exporter and counts the
// scorer spans it printed, by scorer type and name, and all its spans.
func eppsimConsoleScorers(t *testing.T, sim string, args []string) (map[scorerKey]int, int) {
	t.Helper()
	cmd := exec.Command(sim, args...)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=console")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("eppsim (console): %v\n%s", err, stderr.String())
	}
	type kv struct {
		Key   string
		Value struct{ Value any }
	}
	want := map[scorerKey]int{}
	total := 0
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var s struct {
			Name       string
			Attributes []kv
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("eppsim console line: %v: %.200s", err, sc.Text())
		}
		total++
		if schema.Classify(s.Name) != schema.Scorer {
			continue
		}
		var k scorerKey
		for _, a := range s.Attributes {
			switch a.Key {
			case schema.AttrScorerType:
				k.typ, _ = a.Value.Value.(string)
			case schema.AttrScorerName:
				k.name, _ = a.Value.Value.(string)
			}
		}
		want[k]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatalf("eppsim's console output holds no scorer span:\n%.500s", stdout.String())
	}
	return want, total
}

// TestTierConfigsValidate runs `validate` on the shipped tier configs with
// the binary each is for, as an operator would before deploying them.
func TestTierConfigsValidate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := otelcol.Validate(ctx, tier1Binary(t), tier1Config, nil); err != nil {
		t.Error(err)
	}
	if err := otelcol.Validate(ctx, collectorBinary(t), tier2Config, []string{"SCORELENS_INSTANCE_ID=otelcol-dist-0"}); err != nil {
		t.Error(err)
	}
}
