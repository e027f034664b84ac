package scheduler

import (
	"context"
	"errors"
	"fmt"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// Scheduler schedules requests: its profile handler picks profiles, they
// run, the handler combines their results, and the plugins that learn from
// the pick (framework.PreRequest) are told. It is safe for concurrent use.
type Scheduler struct {
	handler  framework.ProfileHandler
	profiles map[string]framework.Profile
	// preRequest lists each PreRequest plugin once, with the profiles it
	// belongs to; built at construction.
	preRequest []preRequestEntry
	// responseHeader lists each ResponseHeader plugin once.
	responseHeader []framework.ResponseHeader
}

type preRequestEntry struct {
	plugin   framework.PreRequest
	profiles []string
}

// New builds a scheduler over profiles, keyed by profile name. Options
// given here apply to every profile after the profile's own options: New
// then runs its own copies of the profiles and leaves the given ones as
// they are. Without options it runs the given profiles.
func New(handler framework.ProfileHandler, profiles map[string]*Profile, opts ...Option) (*Scheduler, error) {
	if handler == nil {
		return nil, errors.New("scheduler: nil profile handler")
	}
	if len(profiles) == 0 {
		return nil, errors.New("scheduler: no profiles")
	}
	s := &Scheduler{handler: handler, profiles: make(map[string]framework.Profile, len(profiles))}
	for name, p := range profiles {
		if p == nil {
			return nil, fmt.Errorf("scheduler: profile %q is nil", name)
		}
		if name != p.name {
			return nil, fmt.Errorf("scheduler: profile %q registered under name %q", p.name, name)
		}
		if len(opts) > 0 {
			var err error
			if p, err = newProfile(p.name, p.filters, p.scorers, p.picker, p.cfg.with(opts)); err != nil {
				return nil, fmt.Errorf("scheduler: %w", err)
			}
		}
		s.profiles[name] = p
		s.addPreRequest(name, p.preRequest)
		for _, rh := range p.responseHeader {
			if !containsPlugin(s.responseHeader, rh) {
				s.responseHeader = append(s.responseHeader, rh)
			}
		}
	}
	return s, nil
}

func (s *Scheduler) addPreRequest(profile string, plugins []framework.PreRequest) {
next:
	for _, pl := range plugins {
		for i := range s.preRequest {
			if samePlugin(s.preRequest[i].plugin, pl) {
				s.preRequest[i].profiles = append(s.preRequest[i].profiles, profile)
				continue next
			}
		}
		s.preRequest = append(s.preRequest, preRequestEntry{plugin: pl, profiles: []string{profile}})
	}
}

// Schedule picks the endpoints for req among candidates. Profiles run in
// rounds, as long as the handler picks some; a profile that fails records
// a nil result (the handler decides whether that fails the request) and
// its error is returned along with the handler's if ProcessResults fails.
// Once the result is known, every PreRequest plugin of a profile that
// produced a result is called once.
func (s *Scheduler) Schedule(ctx context.Context, req *framework.InferenceRequest, candidates []framework.Endpoint) (*framework.SchedulingResult, error) {
	if req == nil {
		return nil, errors.New("scheduler: nil request")
	}
	results := make(map[string]*framework.ProfileRunResult, len(s.profiles))
	var runErr error
	// A handler picks each profile at most once per cycle, so more rounds
	// than profiles means it would never end the cycle.
	for round := 0; ; round++ {
		picked := s.handler.Pick(ctx, req, s.profiles, results)
		if len(picked) == 0 {
			break
		}
		if round == len(s.profiles) {
			return nil, fmt.Errorf("scheduler: profile handler %s did not end the cycle after %d rounds", s.handler.TypedName(), round)
		}
		for name, p := range picked {
			res, err := p.Run(ctx, req, candidates)
			if err != nil {
				runErr = errors.Join(runErr, err)
			}
			results[name] = res
		}
	}
	result, err := s.handler.ProcessResults(ctx, req, results)
	if err != nil {
		return nil, fmt.Errorf("scheduler: profile handler %s: %w", s.handler.TypedName(), errors.Join(err, runErr))
	}
	if result == nil {
		return nil, fmt.Errorf("scheduler: profile handler %s returned no result", s.handler.TypedName())
	}
	for i := range s.preRequest {
		e := &s.preRequest[i]
		for _, name := range e.profiles {
			if results[name] != nil {
				e.plugin.PreRequest(ctx, req, result)
				break
			}
		}
	}
	return result, nil
}

// ResponseHeaders lets every plugin of the scheduler's profiles that
// implements framework.ResponseHeader write its headers on the response to
// the client (the session-affinity scorer's session token), once the
// request is routed to result. headers must not be nil.
func (s *Scheduler) ResponseHeaders(ctx context.Context, req *framework.InferenceRequest, result *framework.SchedulingResult, headers map[string]string) {
	for _, rh := range s.responseHeader {
		rh.ResponseHeader(ctx, req, result, headers)
	}
}
