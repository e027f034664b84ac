package loadgen

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	// The collector's OTLP exporter compresses with gzip by default.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// Sender exports traces to a collector's OTLP/gRPC receiver.
type Sender struct {
	conn   *grpc.ClientConn
	client ptraceotlp.GRPCClient
}

// Dial connects to an OTLP/gRPC receiver at host:port (plaintext, loopback).
func Dial(addr string) (*Sender, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial OTLP/gRPC %s: %w", addr, err)
	}
	return &Sender{conn: conn, client: ptraceotlp.NewGRPCClient(conn)}, nil
}

// Close closes the connection.
func (s *Sender) Close() error { return s.conn.Close() }

// Conn is the sender's gRPC connection.
func (s *Sender) Conn() *grpc.ClientConn { return s.conn }

// Export sends one request and waits for the answer. A response that
// reports rejected spans (partial success) is an error too.
func (s *Sender) Export(ctx context.Context, td ptrace.Traces) error {
	resp, err := s.client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	if err != nil {
		return err
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() > 0 {
		return fmt.Errorf("partial success: %d spans rejected: %s", ps.RejectedSpans(), ps.ErrorMessage())
	}
	return nil
}

// Retryable says whether OTLP lets a client retry after err: the gRPC codes
// the OTLP specification lists as retryable (ResourceExhausted only with
// retry info; the collector's memory_limiter answers Unavailable).
func Retryable(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		return true
	case codes.ResourceExhausted:
		for _, d := range st.Details() {
			if _, ok := d.(*errdetails.RetryInfo); ok {
				return true
			}
		}
	}
	return false
}

// Sink is an OTLP/gRPC trace receiver of our own, where the collector
// under test exports: what it counts is what the collector delivered.
type Sink struct {
	ptraceotlp.UnimplementedGRPCServer
	srv   *grpc.Server
	addr  string
	spans atomic.Int64

	track bool
	mu    sync.Mutex
	seen  map[uint64]struct{}
	dups  int64
}

// StartSink listens on a free loopback port. With trackIDs it remembers the
// span ID of every span received (see Batch), to count losses and duplicates.
func StartSink(trackIDs bool) (*Sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sink listen: %w", err)
	}
	s := &Sink{srv: grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20)), addr: l.Addr().String(), track: trackIDs}
	if trackIDs {
		s.seen = map[uint64]struct{}{}
	}
	ptraceotlp.RegisterGRPCServer(s.srv, s)
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Addr is the sink's host:port.
func (s *Sink) Addr() string { return s.addr }

// Stop stops the sink.
func (s *Sink) Stop() { s.srv.Stop() }

// Export receives one export request from the collector.
func (s *Sink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := req.Traces()
	s.spans.Add(int64(td.SpanCount()))
	if s.track {
		s.mu.Lock()
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					id := SpanID(sp)
					if _, ok := s.seen[id]; ok {
						s.dups++
					}
					s.seen[id] = struct{}{}
				}
			}
		}
		s.mu.Unlock()
	}
	return ptraceotlp.NewExportResponse(), nil
}

// Spans is the number of spans received so far, duplicates included.
func (s *Sink) Spans() int64 { return s.spans.Load() }

// Missing counts the span IDs in [first, first+n) never received, and the
// spans received more than once. It needs a sink started with trackIDs.
func (s *Sink) Missing(ids []uint64) (missing int, dups int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.seen[id]; !ok {
			missing++
		}
	}
	return missing, s.dups
}

// WaitSpans polls until the sink has received at least n spans, or timeout.
func (s *Sink) WaitSpans(n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for s.Spans() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("sink received %d spans within %v, want %d", s.Spans(), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
