package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// received collects what an OTLP receiver got.
type received struct {
	mu       sync.Mutex
	names    map[string]int
	services map[string]bool
	paths    map[string]bool
}

func newReceived() *received {
	return &received{names: map[string]int{}, services: map[string]bool{}, paths: map[string]bool{}}
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
		})
	}
}
