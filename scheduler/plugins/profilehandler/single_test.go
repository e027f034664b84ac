package profilehandler

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// profile is a stand-in profile; the handler only passes profiles along.
type profile struct{}

func (profile) Run(context.Context, *framework.InferenceRequest, []framework.Endpoint) (*framework.ProfileRunResult, error) {
	return nil, nil
}

func TestSingleName(t *testing.T) {
	for _, tt := range []struct {
		name string
		want framework.TypedName
	}{
		{"", framework.TypedName{Type: SingleType, Name: SingleType}},
		{"main", framework.TypedName{Type: SingleType, Name: "main"}},
	} {
		if got := NewSingle(tt.name).TypedName(); got != tt.want {
			t.Errorf("NewSingle(%q).TypedName() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSinglePick(t *testing.T) {
	h := NewSingle("")
	ctx, req := context.Background(), &framework.InferenceRequest{}
	profiles := map[string]framework.Profile{"default": profile{}}
	first := h.Pick(ctx, req, profiles, map[string]*framework.ProfileRunResult{})
	if len(first) != 1 || first["default"] == nil {
		t.Fatalf("first round ran %v, want the one profile", first)
	}
	if nilResults := h.Pick(ctx, req, profiles, nil); len(nilResults) != 1 {
		t.Errorf("first round with nil results ran %d profiles", len(nilResults))
	}
	done := map[string]*framework.ProfileRunResult{"default": {}}
	if next := h.Pick(ctx, req, profiles, done); len(next) != 0 {
		t.Errorf("second round ran %v, want none", next)
	}
}

func TestSingleProcessResults(t *testing.T) {
	ep := &framework.SimpleEndpoint{}
	picked := &framework.ProfileRunResult{TargetEndpoints: []framework.Endpoint{ep}}
	tests := []struct {
		name    string
		results map[string]*framework.ProfileRunResult
		wantErr string
		noPick  bool
	}{
		{"one result", map[string]*framework.ProfileRunResult{"default": picked}, "", false},
		{"none", nil, "got 0", false},
		{"two", map[string]*framework.ProfileRunResult{"a": picked, "b": picked}, "got 2", false},
		{"nil result", map[string]*framework.ProfileRunResult{"default": nil}, `"default"`, true},
		{"picked nothing", map[string]*framework.ProfileRunResult{"default": {}}, `"default"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewSingle("").ProcessResults(context.Background(), &framework.InferenceRequest{}, tt.results)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("got %+v, %v; want an error containing %s", got, err, tt.wantErr)
				}
				if errors.Is(err, ErrNoPick) != tt.noPick {
					t.Errorf("errors.Is(err, ErrNoPick) = %v for %v", !tt.noPick, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.PrimaryProfileName != "default" || got.ProfileResults["default"] != picked {
				t.Errorf("result %+v, want default primary with its result", got)
			}
		})
	}
}
