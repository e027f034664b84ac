package scorer

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
	"github.com/scorelens/scorelens/scheduler/internal/testfleet"
)

func TestSessionAffinity(t *testing.T) {
	eps := []framework.Endpoint{testfleet.Endpoint("ns/a", framework.Metrics{}), testfleet.Endpoint("ns/b", framework.Metrics{}), &testfleet.NilMetadata{}}
	tests := []struct {
		name    string
		header  string // configured header
		headers map[string]string
		want    []float64
	}{
		// The third endpoint has no metadata: never scored.
		{"names b", "", map[string]string{DefaultSessionHeader: SessionToken("ns/b")}, []float64{0, 1, nan}},
		{"names a", "", map[string]string{DefaultSessionHeader: SessionToken("ns/a")}, []float64{1, 0, nan}},
		{"names a gone endpoint", "", map[string]string{DefaultSessionHeader: SessionToken("ns/c")}, []float64{0, 0, nan}},
		// Upstream scores 0 without a session, not "no score".
		{"no header", "", nil, []float64{0, 0, nan}},
		{"empty token", "", map[string]string{DefaultSessionHeader: ""}, []float64{0, 0, nan}},
		{"invalid base64", "", map[string]string{DefaultSessionHeader: "ns/pod-a"}, []float64{0, 0, nan}},
		{"raw id decodes to no endpoint", "", map[string]string{DefaultSessionHeader: "ns/a"}, []float64{0, 0, nan}},
		{"oversized token", "", map[string]string{DefaultSessionHeader: strings.Repeat("QUFB", 200)}, []float64{0, 0, nan}},
		{"custom header, lower-cased", "X-Route-To", map[string]string{"x-route-to": SessionToken("ns/a")}, []float64{1, 0, nan}},
		{"custom header ignores default", "x-route-to", map[string]string{DefaultSessionHeader: SessionToken("ns/a")}, []float64{0, 0, nan}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &framework.InferenceRequest{Headers: tt.headers}
			sameScores(t, score(NewSessionAffinity("", tt.header), req, eps), tt.want)
		})
	}
}

// TestSessionToken pins the token format to upstream's: standard base64 of
// the namespaced name.
func TestSessionToken(t *testing.T) {
	got, err := base64.StdEncoding.DecodeString(SessionToken("default/vllm-0"))
	if err != nil || string(got) != "default/vllm-0" {
		t.Fatalf("SessionToken does not round-trip: %q, %v", got, err)
	}
	if SessionToken("a/b") != "YS9i" {
		t.Errorf("SessionToken(a/b) = %q, want standard base64 YS9i", SessionToken("a/b"))
	}
}

func TestSessionAffinityAllocs(t *testing.T) {
	eps := testfleet.Upstream(100, "m")
	req := &framework.InferenceRequest{Headers: map[string]string{DefaultSessionHeader: SessionToken(eps[99].GetMetadata().ID)}}
	if a := allocsPerScore(NewSessionAffinity("", ""), req, eps); a != 0 {
		t.Errorf("allocs per Score = %v, want 0", a)
	}
}

// TestSessionAffinityIssuesToken: the response names the primary target,
// and the token it carries sends the next request of the session there.
func TestSessionAffinityIssuesToken(t *testing.T) {
	eps := []framework.Endpoint{testfleet.Endpoint("ns/a", framework.Metrics{}), testfleet.Endpoint("ns/b", framework.Metrics{})}
	s := NewSessionAffinity("", "X-Session")
	result := &framework.SchedulingResult{
		PrimaryProfileName: "decode",
		ProfileResults: map[string]*framework.ProfileRunResult{
			"prefill": {TargetEndpoints: []framework.Endpoint{eps[0]}},
			"decode":  {TargetEndpoints: []framework.Endpoint{eps[1]}},
		},
	}
	headers := map[string]string{}
	s.ResponseHeader(context.Background(), &framework.InferenceRequest{}, result, headers)
	if len(headers) != 1 || headers["x-session"] != SessionToken("ns/b") {
		t.Fatalf("response headers %v, want x-session naming the primary target ns/b", headers)
	}
	next := &framework.InferenceRequest{Headers: headers}
	sameScores(t, score(s, next, eps), []float64{0, 1})

	empty := map[string]string{}
	s.ResponseHeader(context.Background(), &framework.InferenceRequest{}, &framework.SchedulingResult{PrimaryProfileName: "decode"}, empty)
	if len(empty) != 0 {
		t.Errorf("a result without a target wrote %v", empty)
	}
}
