package filter

import (
	"context"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// Role filters: upstream's by-label filters on the llm-d.ai/role label, as
// a prefill/decode deployment configures them.
const (
	// RoleLabel is the endpoint label that names its serving role.
	RoleLabel = "llm-d.ai/role"
	// RoleDecode, RolePrefill and RolePrefillDecode are its values for
	// decode workers, prefill workers and workers that do both; RoleBoth is
	// an older spelling of the latter.
	RoleDecode        = "decode"
	RolePrefill       = "prefill"
	RolePrefillDecode = "prefill-decode"
	RoleBoth          = "both"

	// DecodeRoleType and PrefillRoleType are upstream's types of the two
	// role filters.
	DecodeRoleType  = "decode-filter"
	PrefillRoleType = "prefill-filter"
)

// Role keeps the endpoints whose RoleLabel is one of its roles, and, for
// the decode filter, the endpoints without the label (a plain deployment's
// pods all decode), as upstream's.
type Role struct {
	name          framework.TypedName
	roles         []string
	allowsNoLabel bool
}

var _ framework.Filter = (*Role)(nil)

// NewDecodeRole returns upstream's decode filter: decode, prefill-decode,
// both, or no role label.
func NewDecodeRole(name string) *Role {
	return &Role{name: framework.NewTypedName(DecodeRoleType, name), roles: []string{RoleDecode, RolePrefillDecode, RoleBoth}, allowsNoLabel: true}
}

// NewPrefillRole returns upstream's prefill filter: prefill,
// prefill-decode or both; an endpoint without the label never prefills.
func NewPrefillRole(name string) *Role {
	return &Role{name: framework.NewTypedName(PrefillRoleType, name), roles: []string{RolePrefill, RolePrefillDecode, RoleBoth}}
}

// TypedName implements framework.Plugin.
func (f *Role) TypedName() framework.TypedName { return f.name }

// Filter implements framework.Filter, in place.
func (f *Role) Filter(_ context.Context, _ *framework.InferenceRequest, endpoints []framework.Endpoint) []framework.Endpoint {
	return keepIf(endpoints, func(ep framework.Endpoint) bool {
		md := ep.GetMetadata()
		if md == nil {
			return false
		}
		role, ok := md.Labels[RoleLabel]
		if !ok {
			return f.allowsNoLabel
		}
		for _, r := range f.roles {
			if role == r {
				return true
			}
		}
		return false
	})
}
