package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Malformed is one bad request, sent to one OTLP port.
type Malformed struct {
	Name string
	Port string // "grpc" or "http"
	// Send sends it; outcome describes the answer, ok says whether it was
	// the refusal OTLP asks for (a gRPC error status, an HTTP 4xx).
	Send func(ctx context.Context) (outcome string, ok bool)
	// KnownAccepted, when set, says why the collector is known to accept
	// this input (an upstream limitation): it must still stay up.
	KnownAccepted string
}

// NestedDepth is how deep the nested attribute value of the "deeply nested"
// cases goes: a kvlist inside a kvlist, this many times.
const NestedDepth = 100_000

// OversizedBytes is the size of the oversized requests: above both the gRPC
// receiver's default max_recv_msg_size_mib (4) and the HTTP receiver's
// default max_request_body_size (20 MiB).
const OversizedBytes = 24 << 20

const tracesMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// rawCodec sends and receives bytes as they are, so a request can be
// malformed on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*v.(*[]byte) = append((*v.(*[]byte))[:0], b...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// MalformedRequests lists the malformed inputs, for the OTLP/gRPC receiver
// over conn (at grpcAddr) and the OTLP/HTTP receiver at httpAddr (host:port).
func MalformedRequests(conn *grpc.ClientConn, grpcAddr, httpAddr string) ([]Malformed, error) {
	good, err := ptraceotlp.NewExportRequestFromTraces(Batch(4, 1<<62)).MarshalProto()
	if err != nil {
		return nil, fmt.Errorf("marshal a good request: %w", err)
	}
	truncated := good[:len(good)*2/3]
	rng := rand.New(rand.NewPCG(7, 7))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	// Wire type 7 does not exist: whatever follows, the first tag is invalid.
	random[0] = 0xFF
	oversized, err := ptraceotlp.NewExportRequestFromTraces(bigAttribute(OversizedBytes)).MarshalProto()
	if err != nil {
		return nil, fmt.Errorf("marshal the oversized request: %w", err)
	}
	nested, err := ptraceotlp.NewExportRequestFromTraces(nestedAttribute(NestedDepth)).MarshalProto()
	if err != nil {
		return nil, fmt.Errorf("marshal the nested request: %w", err)
	}
	nestedJSON, err := ptraceotlp.NewExportRequestFromTraces(nestedAttribute(NestedDepth)).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshal the nested JSON request: %w", err)
	}

	grpcCase := func(name string, body []byte, opts ...grpc.CallOption) Malformed {
		return Malformed{Name: name, Port: "grpc", Send: func(ctx context.Context) (string, bool) {
			var out []byte
			err := conn.Invoke(ctx, tracesMethod, &body, &out, append(opts, grpc.ForceCodec(rawCodec{}))...)
			if err == nil {
				return "accepted (OK)", false
			}
			st, _ := status.FromError(err)
			return fmt.Sprintf("%s: %s", st.Code(), trim(st.Message())), true
		}}
	}
	httpCase := func(name, contentType string, body []byte) Malformed {
		return Malformed{Name: name, Port: "http", Send: func(ctx context.Context) (string, bool) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+httpAddr+"/v1/traces", bytes.NewReader(body))
			if err != nil {
				return err.Error(), false
			}
			req.Header.Set("Content-Type", contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return "no answer: " + err.Error(), false
			}
			defer resp.Body.Close()
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Sprintf("%s: %s", resp.Status, trim(string(msg))), resp.StatusCode >= 400 && resp.StatusCode < 500
		}}
	}
	// A gRPC server must answer a request that is not application/grpc
	// with an HTTP error: sent with plain HTTP/2 (h2c), as gRPC is.
	h2cCase := func(name, target, contentType string, body []byte) Malformed {
		return Malformed{Name: name, Port: "grpc", Send: func(ctx context.Context) (string, bool) {
			p := new(http.Protocols)
			p.SetUnencryptedHTTP2(true)
			client := &http.Client{Transport: &http.Transport{Protocols: p}}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+target+tracesMethod, bytes.NewReader(body))
			if err != nil {
				return err.Error(), false
			}
			req.Header.Set("Content-Type", contentType)
			resp, err := client.Do(req)
			if err != nil {
				return "no answer: " + err.Error(), false
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			st := resp.Header.Get("Grpc-Status")
			if st == "" {
				st = resp.Trailer.Get("Grpc-Status")
			}
			return fmt.Sprintf("HTTP/2 %s, grpc-status %q", resp.Status, st),
				resp.StatusCode >= 400 && resp.StatusCode < 500 || st != "" && st != "0"
		}}
	}
	jsonNested := httpCase(fmt.Sprintf("nested attribute value (depth %d, JSON)", NestedDepth), "application/json", nestedJSON)
	jsonNested.KnownAccepted = "the collector's OTLP/JSON decoder (pdata v1.71.0) has no nesting limit, unlike its " +
		"protobuf decoder (\"exceeded max recursion depth\"); the value sits on a scoring span, where the eppscoring " +
		"processor removes the unknown key before anything is exported"
	return []Malformed{
		grpcCase("truncated protobuf", truncated),
		h2cCase("wrong content type (text/plain over HTTP/2)", grpcAddr, "text/plain", good),
		grpcCase("oversized body (24 MiB)", oversized),
		grpcCase("random bytes", random),
		grpcCase(fmt.Sprintf("nested attribute value (depth %d)", NestedDepth), nested),
		httpCase("truncated protobuf", "application/x-protobuf", truncated),
		httpCase("wrong content type (text/plain)", "text/plain", good),
		httpCase("oversized body (24 MiB)", "application/x-protobuf", oversized),
		httpCase("random bytes", "application/x-protobuf", random),
		httpCase("invalid JSON", "application/json", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":`)),
		httpCase(fmt.Sprintf("nested attribute value (depth %d, protobuf)", NestedDepth), "application/x-protobuf", nested),
		jsonNested,
	}, nil
}

func trim(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}

// bigAttribute is one span whose attribute value makes the request n bytes.
func bigAttribute(n int) ptrace.Traces {
	td := Batch(1, 1<<61)
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	sp.Attributes().PutStr("payload", strings.Repeat("x", n))
	return td
}

// nestedAttribute is one trace whose scoring span carries an attribute
// value nested depth levels deep.
func nestedAttribute(depth int) ptrace.Traces {
	td := Batch(1, 1<<60)
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	m := sp.Attributes().PutEmptyMap("nested")
	for range depth {
		m = m.PutEmptyMap("n")
	}
	m.PutStr("leaf", "x")
	return td
}
