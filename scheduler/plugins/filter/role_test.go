package filter

import (
	"context"
	"testing"

	"github.com/scorelens/scorelens/scheduler/framework"
)

func TestRoleFilters(t *testing.T) {
	mk := func(id, role string) framework.Endpoint {
		ep := &framework.SimpleEndpoint{Metadata: framework.EndpointMetadata{ID: id, Labels: map[string]string{}}}
		if role != "" {
			ep.Metadata.Labels[RoleLabel] = role
		}
		return ep
	}
	all := func() []framework.Endpoint {
		return []framework.Endpoint{mk("p", RolePrefill), mk("d", RoleDecode), mk("pd", RolePrefillDecode), mk("b", RoleBoth), mk("none", ""), mk("x", "encode")}
	}
	ids := func(eps []framework.Endpoint) []string {
		var out []string
		for _, ep := range eps {
			out = append(out, ep.GetMetadata().ID)
		}
		return out
	}
	for _, tc := range []struct {
		f    *Role
		want []string
	}{
		{NewDecodeRole(""), []string{"d", "pd", "b", "none"}},
		{NewPrefillRole(""), []string{"p", "pd", "b"}},
	} {
		got := ids(tc.f.Filter(context.Background(), &framework.InferenceRequest{}, all()))
		if len(got) != len(tc.want) {
			t.Errorf("%s kept %v, want %v", tc.f.TypedName().Type, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s kept %v, want %v", tc.f.TypedName().Type, got, tc.want)
			}
		}
	}
}
