package profilehandler

import (
	"context"
	"errors"
	"fmt"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// SingleType is the upstream type of the single-profile handler.
const SingleType = "single-profile-handler"

// ErrNoPick is returned (wrapped) by Single.ProcessResults when the profile
// ran but picked no endpoint.
var ErrNoPick = errors.New("profile picked no endpoint")

// Single runs the one profile of a scheduler configuration: Pick hands
// every profile it is given to the first round and ends the cycle after it;
// ProcessResults requires exactly one result, with at least one endpoint,
// and names that profile primary. Configuring more than one profile is thus
// caught on the first request.
type Single struct {
	name framework.TypedName
}

var _ framework.ProfileHandler = (*Single)(nil)

// NewSingle returns a single-profile handler named name (the type when
// empty).
func NewSingle(name string) *Single {
	return &Single{name: framework.NewTypedName(SingleType, name)}
}

// TypedName implements framework.Plugin.
func (h *Single) TypedName() framework.TypedName { return h.name }

// Pick implements framework.ProfileHandler. It returns the profiles map it
// was given, not a copy: nothing to allocate, and the caller only reads it.
func (h *Single) Pick(_ context.Context, _ *framework.InferenceRequest, profiles map[string]framework.Profile, results map[string]*framework.ProfileRunResult) map[string]framework.Profile {
	if len(results) > 0 {
		return nil
	}
	return profiles
}

// ProcessResults implements framework.ProfileHandler.
func (h *Single) ProcessResults(_ context.Context, _ *framework.InferenceRequest, results map[string]*framework.ProfileRunResult) (*framework.SchedulingResult, error) {
	if len(results) != 1 {
		return nil, fmt.Errorf("want exactly one profile result, got %d", len(results))
	}
	var name string
	var r *framework.ProfileRunResult
	for name, r = range results { // the only one
	}
	if r == nil || len(r.TargetEndpoints) == 0 {
		return nil, fmt.Errorf("profile %q: %w", name, ErrNoPick)
	}
	return &framework.SchedulingResult{ProfileResults: results, PrimaryProfileName: name}, nil
}
