//go:build image

// The container image's tests, run by `make image-test` (build tag image):
// they need podman (or another CLI that speaks its commands) and the image
// `make image` built, so they are not part of `make test`.

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
	"github.com/scorelens/scorelens/scheduler/schema"
)

const (
	imageBinary = "/otelcol-dist"
	imageConfig = "/etc/otelcol-dist/config.yaml"
	imageCAs    = "/etc/ssl/certs/ca-certificates.crt"
	imageUser   = "10001:10001"
)

// testImage is the image under test and the CLI that runs it.
type testImage struct {
	ref, cli string
	runFlags []string
}

func imageUnderTest(t *testing.T) testImage {
	t.Helper()
	ref := os.Getenv("SCORELENS_IMAGE")
	if ref == "" {
		t.Fatal("SCORELENS_IMAGE is not set: run these tests with `make image-test`, which builds the image and passes its name")
	}
	cli := os.Getenv("SCORELENS_CONTAINER")
	if cli == "" {
		cli = "podman"
	}
	return testImage{ref: ref, cli: cli, runFlags: strings.Fields(os.Getenv("SCORELENS_CONTAINER_RUN_FLAGS"))}
}

// run runs the container CLI and returns its stdout; stderr goes into the error.
func (im testImage) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, im.cli, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s", im.cli, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func (im testImage) must(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := im.run(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImageConfig checks the image's config (user, entrypoint, command,
// exposed ports: exactly the ports its config listens on) and its files: the
// collector binary `make collector` built, statically linked; the image's
// config, byte for byte deploy/image/config.yaml; a CA bundle that parses.
func TestImageConfig(t *testing.T) {
	im := imageUnderTest(t)
	var inspect []struct {
		Os, Architecture string
		Config           struct {
			User         string
			Entrypoint   []string
			Cmd          []string
			ExposedPorts map[string]struct{}
		}
	}
	if err := json.Unmarshal(im.must(t, "image", "inspect", im.ref), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("image inspect %s: %v (%d images)", im.ref, err, len(inspect))
	}
	got := inspect[0]
	if got.Os != "linux" {
		t.Errorf("os %q, want linux", got.Os)
	}
	if got.Config.User != imageUser {
		t.Errorf("user %q, want %q", got.Config.User, imageUser)
	}
	if !slices.Equal(got.Config.Entrypoint, []string{imageBinary}) {
		t.Errorf("entrypoint %q, want [%s]", got.Config.Entrypoint, imageBinary)
	}
	if !slices.Equal(got.Config.Cmd, []string{"--config=" + imageConfig}) {
		t.Errorf("cmd %q, want [--config=%s]", got.Config.Cmd, imageConfig)
	}
	var wantPorts []string
	for _, p := range listenPorts(t, imageConfigPath, parseConfig(t, imageConfigPath, mustRead(t, imageConfigPath))) {
		wantPorts = append(wantPorts, strconv.Itoa(int(p))+"/tcp")
	}
	var gotPorts []string
	for p := range got.Config.ExposedPorts {
		gotPorts = append(gotPorts, p)
	}
	slices.Sort(wantPorts)
	slices.Sort(gotPorts)
	if !slices.Equal(gotPorts, wantPorts) {
		t.Errorf("exposed ports %v; the config listens on %v", gotPorts, wantPorts)
	}

	// The files: export the filesystem of a container created (not started) from the image.
	name := fmt.Sprintf("scorelens-image-files-%d", os.Getpid())
	im.must(t, "create", "--name", name, im.ref)
	t.Cleanup(func() { im.run(context.Background(), "rm", "-f", name) })
	files := map[string][]byte{}
	modes := map[string]int64{}
	tr := tar.NewReader(bytes.NewReader(im.must(t, "export", name)))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("export %s: %v", name, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.TrimPrefix(h.Name, "/")
		files[p], modes[p] = b, h.Mode
	}

	bin := mustRead(t, collectorBinary(t))
	if sha256.Sum256(files[imageBinary]) != sha256.Sum256(bin) {
		t.Errorf("%s (%d bytes) is not the collector make built (%d bytes)", imageBinary, len(files[imageBinary]), len(bin))
	}
	if modes[imageBinary]&0o111 == 0 {
		t.Errorf("%s mode %o is not executable", imageBinary, modes[imageBinary])
	}
	f, err := elf.NewFile(bytes.NewReader(files[imageBinary]))
	if err != nil {
		t.Fatalf("%s: %v", imageBinary, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader; a scratch image has none (build it with CGO_ENABLED=0)", imageBinary)
		}
	}
	if want := mustRead(t, imageConfigPath); !bytes.Equal(files[imageConfig], want) {
		t.Errorf("%s differs from %s", imageConfig, imageConfigPath)
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(files[imageCAs]) {
		t.Errorf("%s holds no PEM certificate", imageCAs)
	}
	// A scratch image holds our three files and whatever the runtime writes
	// into every container (mount points for hosts, resolv.conf, ...), all empty.
	for p, b := range files {
		if p != imageBinary && p != imageConfig && p != imageCAs && len(b) > 0 {
			t.Errorf("unexpected file %s (%d bytes) in the image", p, len(b))
		}
	}
}

// TestImageSmoke runs the image with its own config and the manifests'
// security context, publishes its ports on loopback, sends it eppsim's traces over OTLP/gRPC and scrapes both metrics
// endpoints: every request's chain is counted, every scorer series carries
// the model, every span accepted was exported, and it runs as user 10001.
func TestImageSmoke(t *testing.T) {
	im := imageUnderTest(t)
	name := fmt.Sprintf("scorelens-image-smoke-%d", os.Getpid())
	// As the manifests run it: read-only root filesystem, no capabilities,
	// no privilege escalation.
	args := []string{"run", "-d", "--name", name, "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges"}
	args = append(args, im.runFlags...)
	ports := []string{"4317", "4318", "8888", "8889", "13133"}
	for _, p := range ports {
		args = append(args, "-p", "127.0.0.1::"+p)
	}
	args = append(args, im.ref)
	im.must(t, args...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := im.run(context.Background(), "logs", "--tail", "40", name)
			t.Logf("container log:\n%s", logs)
		}
		if _, err := im.run(context.Background(), "rm", "-f", "-t", "10", name); err != nil {
			t.Errorf("remove container: %v", err)
		}
	})
	host := map[string]string{}
	for _, p := range ports {
		out := strings.TrimSpace(string(im.must(t, "port", name, p+"/tcp")))
		host[p] = strings.Split(out, "\n")[0]
		if !strings.HasPrefix(host[p], "127.0.0.1:") {
			t.Fatalf("port %s published on %q, want loopback", p, out)
		}
	}

	eventually(t, 60*time.Second, "health check answers", func() (bool, string) {
		resp, err := http.Get("http://" + host["13133"] + "/")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	if out := string(im.must(t, "top", name, "user")); !strings.Contains(out, "10001") {
		t.Errorf("the collector does not run as user 10001:\n%s", out)
	}

	const requests = 200
	cmd := exec.Command(eppsimBinary(t), "-requests", strconv.Itoa(requests), "-endpoints", "12", "-rate", "0", "-seed", "11")
	cmd.Env = append(os.Environ(),
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+host["4317"],
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("eppsim: %v\n%s", err, out)
	}

	scoringMetric := otelcol.PromName(schema.MetricScoringDuration) + "_seconds"
	// The image's connector flushes every 15 s.
	var fams otelcol.Families
	eventually(t, 60*time.Second, "the connector counted every request's scorer chain", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f, err := otelcol.Scrape(ctx, "http://"+host["8889"]+"/metrics")
		if err != nil {
			return false, err.Error()
		}
		rows, err := f.HistogramBy(scoringMetric)
		if err != nil || len(rows) != 1 {
			return false, fmt.Sprintf("%v, %d rows", err, len(rows))
		}
		fams = f
		return rows[0].Count == requests, fmt.Sprintf("%s count %v, want %d", scoringMetric, rows[0].Count, requests)
	})
	rows, err := fams.HistogramBy(scorerMetric, typeLabel, modelLabel)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no scorer series")
	}
	for _, r := range rows {
		if r.Labels[1] == "" {
			t.Errorf("scorer %s: %v observations without %s (the parent join failed)", r.Labels[0], r.Count, modelLabel)
		}
	}

	eventually(t, 30*time.Second, "every accepted span exported", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		own, err := otelcol.Scrape(ctx, "http://"+host["8888"]+"/metrics")
		if err != nil {
			return false, err.Error()
		}
		accepted := counter(own, "otelcol_receiver_accepted_spans", nil)
		sent := counter(own, "otelcol_exporter_sent_spans", map[string]string{"exporter": "debug"})
		checked := counter(own, processorPrefix+"spans_checked", nil)
		return accepted > 0 && sent == accepted && checked > 0,
			fmt.Sprintf("accepted %v, sent by debug %v, checked by the processor %v", accepted, sent, checked)
	})
}
