package scorer

import (
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
		{"names b", "", map[string]string{DefaultSessionHeader: SessionToken("ns/b")}, []float64{0, 1, 0}},
		{"names a", "", map[string]string{DefaultSessionHeader: SessionToken("ns/a")}, []float64{1, 0, 0}},
		{"names a gone endpoint", "", map[string]string{DefaultSessionHeader: SessionToken("ns/c")}, []float64{0, 0, 0}},
		{"no header", "", nil, []float64{nan, nan, nan}},
		{"empty token", "", map[string]string{DefaultSessionHeader: ""}, []float64{nan, nan, nan}},
		{"invalid base64", "", map[string]string{DefaultSessionHeader: "ns/pod-a"}, []float64{nan, nan, nan}},
		{"raw id decodes to no endpoint", "", map[string]string{DefaultSessionHeader: "ns/a"}, []float64{0, 0, 0}},
		{"oversized token", "", map[string]string{DefaultSessionHeader: strings.Repeat("QUFB", 200)}, []float64{nan, nan, nan}},
		{"custom header, lower-cased", "X-Route-To", map[string]string{"x-route-to": SessionToken("ns/a")}, []float64{1, 0, 0}},
		{"custom header ignores default", "x-route-to", map[string]string{DefaultSessionHeader: SessionToken("ns/a")}, []float64{nan, nan, nan}},
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
