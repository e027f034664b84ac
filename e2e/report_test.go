package e2e

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
)

// chromiumBinary is SCORELENS_CHROMIUM when set, else Debian's chromium on
// PATH (.ci/run installs it). Missing is a failure, not a skip.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SCORELENS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found on PATH: install Debian's chromium package (apt-get install chromium; .ci/run does) " +
		"or set SCORELENS_CHROMIUM to a Chromium binary")
	return ""
}

// headless runs Chromium headless on a local file with the given extra flags.
func headless(t *testing.T, chromium, page string, flags ...string) []byte {
	t.Helper()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=5000",
	}, flags...)
	args = append(args, "file://"+page)
	cmd := exec.Command(chromium, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, stderr.String())
	}
	return stdout.Bytes()
}

var (
	reportLine = regexp.MustCompile(`report written to (\S+)`)
	barRect    = regexp.MustCompile(`<rect class="bar"[^>]*data-scorer="([^"]*)"[^>]*data-count="([^"]*)"`)
	renderedN  = regexp.MustCompile(`data-rendered-bars="(\d+)"`)
)

// scorerTable reads the CALLS column of scorelens-run's table by scorer name.
func scorerTable(t *testing.T, out string) map[string]float64 {
	t.Helper()
	calls := map[string]float64{}
	name, count := -1, -1 // column indices, from the header
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if name < 0 {
			for i, h := range f {
				switch h {
				case "NAME":
					name = i
				case "CALLS":
					count = i
				}
			}
			if name < 0 || count < 0 {
				name, count = -1, -1
			}
			continue
		}
		// The table ends at the first line that is not a row of it (the
		// summary line after it starts with a number of series).
		if len(f) <= max(name, count) || strings.Contains(line, "scorer series") {
			if len(calls) == 0 {
				break
			}
			return calls
		}
		n, err := strconv.ParseFloat(f[count], 64)
		if err != nil {
			t.Fatalf("table line %q: %v", line, err)
		}
		// A scorer in several profiles has a row per profile; the chart
		// draws one histogram per scorer name.
		calls[f[name]] += n
	}
	t.Fatalf("no scorer table in the output:\n%s", out)
	return nil
}

// TestReportRenders runs the program behind `make run`, loads the report it
// wrote into headless Chromium and checks, in the DOM after the page's
// script ran, that the chart drew each scorer's histogram with the counts of
// the printed table; the screenshot goes to out/report.png.
func TestReportRenders(t *testing.T) {
	chromium := chromiumBinary(t)
	collector := collectorBinary(t)
	sim := eppsimBinary(t)
	run := buildRun(t)
	ports, err := otelcol.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	args, env := runArgs(t, collector, sim, ports)
	cmd := exec.Command(run, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scorelens-run: %v\n%s", err, out)
	}
	m := reportLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("scorelens-run did not say where the report went:\n%s", out)
	}
	page := m[1]
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing that loads an asset: the page must open offline. (URLs in
	// its text, such as the scraped endpoint, load nothing.)
	for _, load := range []string{"src=", "href=", "@import", "url(", "fetch(", "XMLHttpRequest"} {
		if strings.Contains(string(html), load) {
			t.Errorf("report uses %q: it must open offline", load)
		}
	}
	if strings.Contains(string(html), `<rect class="bar"`) {
		t.Fatal("the report's HTML already holds the bars: this test could not tell whether the script ran")
	}

	dom := string(headless(t, chromium, page, "--dump-dom"))
	want := scorerTable(t, string(out))
	rm := renderedN.FindStringSubmatch(dom)
	if rm == nil {
		t.Fatalf("the chart's script did not finish (no data-rendered-bars in the DOM):\n%.2000s", dom)
	}
	bars := barRect.FindAllStringSubmatch(dom, -1)
	if n, _ := strconv.Atoi(rm[1]); n == 0 || n != len(bars) {
		t.Errorf("script says it drew %s bars, the DOM holds %d", rm[1], len(bars))
	}
	got := map[string]float64{}
	for _, b := range bars {
		c, err := strconv.ParseFloat(b[2], 64)
		if err != nil || c <= 0 {
			t.Errorf("bar of %s with count %q", b[1], b[2])
		}
		got[b[1]] += c
	}
	if len(want) < 2 || len(got) != len(want) {
		t.Errorf("bars drawn for scorers %v, table lists %v", got, want)
	}
	for name, calls := range want {
		if got[name] != calls {
			t.Errorf("scorer %s: bars add up to %v calls, the table says %v", name, got[name], calls)
		}
	}
	if n := strings.Count(dom, `class="p99"`); n != len(want) {
		t.Errorf("%d p99 markers, want one per scorer (%d)", n, len(want))
	}

	// The screenshot, for a person to look at: out/report.png.
	shot, err := filepath.Abs("../out/report.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(shot)
	headless(t, chromium, page, "--screenshot="+shot, "--window-size=1280,900", "--hide-scrollbars")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	// The bars are the only orange (#e8743b) on the page: the screenshot must show some.
	if n := countColor(img, 0xe8, 0x74, 0x3b); n < 200 {
		t.Errorf("screenshot %s shows %d bar pixels; the chart did not paint", shot, n)
	}
	t.Logf("screenshot: %s", shot)
}

func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if uint8(cr>>8) == r && uint8(cg>>8) == g && uint8(cb>>8) == b {
				n++
			}
		}
	}
	return n
}
