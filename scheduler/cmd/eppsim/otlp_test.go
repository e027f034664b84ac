package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// received collects what an OTLP receiver got.
type received struct {
	mu          sync.Mutex
	names       map[string]int
	services    map[string]bool
	paths       map[string]bool
	spans       int
	tracestates map[string]int            // spans by tracestate
	traces      map[string]map[string]int // span names by trace id
}

func newReceived() *received {
	return &received{names: map[string]int{}, services: map[string]bool{}, paths: map[string]bool{},
		tracestates: map[string]int{}, traces: map[string]map[string]int{}}
}

// count returns how many spans arrived.
func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spans
}

func (r *received) add(req *coltrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == string(semconv.ServiceNameKey) {
				r.services[a.GetValue().GetStringValue()] = true
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.names[s.GetName()]++
				r.spans++
				r.tracestates[s.GetTraceState()]++
				id := string(s.GetTraceId())
				if r.traces[id] == nil {
					r.traces[id] = map[string]int{}
				}
				r.traces[id][s.GetName()]++
			}
		}
	}
}

type traceReceiver struct {
	coltrace.UnimplementedTraceServiceServer
	got *received
}

func (t *traceReceiver) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	t.got.add(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

func startGRPCReceiver(t *testing.T) (addr string, got *received) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got = newReceived()
	srv := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(srv, &traceReceiver{got: got})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), got
}

func startHTTPReceiver(t *testing.T) (addr string, got *received) {
	t.Helper()
	got = newReceived()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
			return
		}
		got.mu.Lock()
		got.paths[r.URL.Path] = true
		got.mu.Unlock()
		got.add(&req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), got
}

// TestOTLPRoundTrip sends a run's spans to loopback receivers over both
// protocols, with the endpoint spelled as a bare host:port and as an
// http:// URL: both must reach a plaintext receiver.
func TestOTLPRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		start    func(*testing.T) (string, *received)
		scheme   string
		wantPath string
	}{
		{"grpc bare host:port", protocolGRPC, startGRPCReceiver, "", ""},
		{"grpc http URL", protocolGRPC, startGRPCReceiver, "http://", ""},
		{"http bare host:port", protocolHTTPProtobuf, startHTTPReceiver, "", otlpHTTPTracesPath},
		{"http URL", protocolHTTPProtobuf, startHTTPReceiver, "http://", otlpHTTPTracesPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, got := tt.start(t)
			env := mapEnv(map[string]string{
				envTracesExporter: exporterOTLP,
				envProtocol:       tt.protocol,
				envEndpoint:       tt.scheme + addr,
				envServiceName:    "eppsim-test",
			})
			const requests = 5
			var stderr bytes.Buffer
			if err := run(context.Background(), config{requests: requests, endpoints: 3, seed: 1}, env, io.Discard, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			// run returns after the flush: everything has arrived.
			got.mu.Lock()
			defer got.mu.Unlock()
			if got.names[spanGatewayRequest] != requests || got.names[schema.SpanScoring] != requests {
				t.Errorf("received spans %v, want %d roots and scoring spans", got.names, requests)
			}
			if !got.services["eppsim-test"] || len(got.services) != 1 {
				t.Errorf("service names %v, want eppsim-test", got.services)
			}
			if tt.wantPath != "" && (!got.paths[tt.wantPath] || len(got.paths) != 1) {
				t.Errorf("posted to %v, want %s", got.paths, tt.wantPath)
			}
			// The summary, printed after the flush, counts what arrived.
			if want := fmt.Sprintf("spans: %d sampled spans ended, %d exported to OTLP %s", got.spans, got.spans, tt.protocol); !strings.Contains(stderr.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, stderr.String())
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestExportFailureExits1 runs the eppsim program against a closed
// loopback port with each protocol: both must exit 1 with one error line
// naming the endpoint and how many spans were lost, and print no line per
// failed export.
func TestExportFailureExits1(t *testing.T) {
	for _, protocol := range []string{protocolGRPC, protocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			addr := closedPort(t)
			var stdout, stderr bytes.Buffer
			code := runMain(t, []string{
				envTracesExporter + "=" + exporterOTLP,
				envProtocol + "=" + protocol,
				// Bare host:port, upstream EPP's documented form.
				envEndpoint + "=" + addr,
				// The gRPC exporter retries an unreachable collector until its
				// timeout (10 s by default): keep the test short. Its error
				// then says either why it could not connect or that time ran out.
				"OTEL_EXPORTER_OTLP_TIMEOUT=500",
			}, nil, &stdout, &stderr, "-requests", "2000", "-endpoints", "4")
			if code != 1 {
				t.Fatalf("exit code %d, want 1\n%s", code, stderr.String())
			}
			var errLines []string
			for _, line := range strings.Split(stderr.String(), "\n") {
				if strings.Contains(line, "traces export") || strings.HasPrefix(line, "eppsim: ") && strings.Contains(line, "lost") {
					errLines = append(errLines, line)
				}
			}
			if strings.Contains(stderr.String(), "parse url") {
				t.Errorf("the exporter complained about the bare endpoint:\n%s", stderr.String())
			}
			if len(errLines) != 1 {
				t.Fatalf("%d error lines, want exactly one:\n%s", len(errLines), stderr.String())
			}
			line := errLines[0]
			lost := regexp.MustCompile(`^eppsim: (\d+) of (\d+) spans lost on the way to OTLP ` + regexp.QuoteMeta(protocol) + ` \S*` + regexp.QuoteMeta(addr) + `\S*: .*(connection refused|deadline exceeded)`).FindStringSubmatch(line)
			if lost == nil {
				t.Fatalf("error line %q does not name the endpoint, the lost spans and the cause", line)
			}
			// Nothing arrived anywhere: every span that ended was lost, and
			// the summary (before the error) agrees.
			if lost[1] != lost[2] || lost[1] == "0" {
				t.Errorf("lost %s of %s spans, want all of them", lost[1], lost[2])
			}
			if want := "spans: " + lost[2] + " sampled spans ended, 0 exported"; !strings.Contains(stderr.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, stderr.String())
			}
			if !strings.HasSuffix(strings.TrimSpace(stderr.String()), line) {
				t.Errorf("the error is not the last line:\n%s", stderr.String())
			}
		})
	}
}

// TestReceiverRejects: a receiver that answers with a permanent error
// loses the spans as surely as a closed port; run reports it.
func TestReceiverRejects(t *testing.T) {
	httpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	t.Cleanup(httpSrv.Close)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcSrv := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(grpcSrv, rejectingReceiver{})
	go func() { _ = grpcSrv.Serve(lis) }()
	t.Cleanup(grpcSrv.Stop)

	for _, tt := range []struct{ protocol, endpoint string }{
		{protocolHTTPProtobuf, httpSrv.URL},
		{protocolGRPC, "http://" + lis.Addr().String()},
	} {
		t.Run(tt.protocol, func(t *testing.T) {
			env := mapEnv(map[string]string{envTracesExporter: exporterOTLP, envProtocol: tt.protocol, envEndpoint: tt.endpoint})
			var stderr bytes.Buffer
			err := run(context.Background(), config{requests: 20, endpoints: 3, seed: 1}, env, io.Discard, &stderr)
			var loss *lossError
			if !errors.As(err, &loss) || loss.lost == 0 || loss.lost != loss.ended {
				t.Fatalf("run = %v, want every span reported lost\n%s", err, stderr.String())
			}
		})
	}
}

type rejectingReceiver struct {
	coltrace.UnimplementedTraceServiceServer
}

func (rejectingReceiver) Export(context.Context, *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	return nil, status.Error(codes.InvalidArgument, "no")
}

// TestOutputReaderClosesEarly: eppsim 2>&1 | head. The reader goes away
// after the first line, before the run ends; the spans must all arrive
// anyway and eppsim must exit 0 (nothing was lost).
func TestOutputReaderClosesEarly(t *testing.T) {
	addr, got := startGRPCReceiver(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	const requests = 300
	cmd := mainCommand(t, []string{
		envTracesExporter + "=" + exporterOTLP, envEndpoint + "=http://" + addr,
	}, "-requests", strconv.Itoa(requests), "-endpoints", "4", "-rate", "1000")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v", err)
	}
	if !strings.Contains(line, "eppsim starting") {
		t.Errorf("first line %q", line)
	}
	pr.Close() // like head after its lines: the rest of the output has no reader
	err = cmd.Wait()
	if err != nil {
		t.Errorf("eppsim: %v, want exit 0", err)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if got.names[spanGatewayRequest] != requests || got.names[schema.SpanScoring] != requests {
		t.Errorf("received %d roots and %d scoring spans, want %d of each", got.names[spanGatewayRequest], got.names[schema.SpanScoring], requests)
	}
}

// TestConsoleReaderGone: with the console exporter, a stdout whose reader
// is gone loses spans; eppsim says so on stderr and exits 1.
func TestConsoleReaderGone(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	defer pw.Close()
	var stderr bytes.Buffer
	code := runMain(t, []string{envTracesExporter + "=" + exporterConsole}, nil, pw, &stderr, "-requests", "50", "-endpoints", "4")
	if code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, stderr.String())
	}
	if !regexp.MustCompile(`(?m)^eppsim: \d+ of \d+ spans lost on the way to stdout: .*broken pipe`).MatchString(stderr.String()) {
		t.Errorf("stderr lacks the loss line:\n%s", stderr.String())
	}
}

// TestSamplingWritesThreshold sends a run sampled at 0.25 to a receiver:
// every span that arrives carries ot=th:c, traces arrive whole, and the
// summary's true and sampled chain counts match what arrived.
func TestSamplingWritesThreshold(t *testing.T) {
	for _, sampler := range []string{samplerParentRatio, samplerRatio} {
		t.Run(sampler, func(t *testing.T) {
			addr, got := startGRPCReceiver(t)
			env := mapEnv(map[string]string{
				envTracesExporter: exporterOTLP, envEndpoint: addr,
				envTracesSampler: sampler, envTracesSamplerArg: "0.25",
			})
			const requests = 1000
			var stderr bytes.Buffer
			if err := run(context.Background(), config{requests: requests, endpoints: 4, seed: 1}, env, io.Discard, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			got.mu.Lock()
			defer got.mu.Unlock()
			if len(got.tracestates) != 1 || got.tracestates["ot=th:c"] != got.spans {
				t.Errorf("tracestates %v, want ot=th:c on all %d spans", got.tracestates, got.spans)
			}
			sampled := got.names[schema.SpanScoring]
			for id, names := range got.traces {
				if names[spanGatewayRequest] != 1 || names[schema.SpanScoring] != 1 {
					t.Errorf("trace %x arrived partly: %v", id, names)
				}
			}
			// 1000 at 0.25: 250 ± 5 standard deviations (13.7 each).
			if sampled < 182 || sampled > 318 {
				t.Errorf("%d of %d chains sampled at 0.25", sampled, requests)
			}
			for _, want := range []string{
				"sampler: " + sampler + " 0.25, writes ot=th:c (probability 0.25, adjusted count 4)",
				fmt.Sprintf("scoring chains: %d, sampled %d (", requests, sampled),
				fmt.Sprintf("spans: %d sampled spans ended, %d exported", got.spans, got.spans),
			} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("summary lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}
