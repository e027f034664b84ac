package scorer

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/scorelens/scorelens/scheduler/framework"
)

// SessionAffinityType is the upstream type of the session affinity scorer.
const SessionAffinityType = "session-affinity-scorer"

// DefaultSessionHeader is the request header that carries the session token.
const DefaultSessionHeader = "x-session-token"

// maxSessionTokenLen bounds the token we decode on the stack. An endpoint ID
// is "namespace/name": at most 63+1+253 bytes, whose base64 is 424 bytes.
const maxSessionTokenLen = 512

// SessionAffinity sends a session back to the endpoint that served it: 1.0
// for the endpoint the session token names, 0 for the others.
//
// The token is the endpoint's metadata ID (namespace/name) in standard
// base64, as upstream, so that tokens issued by an upstream EPP keep working
// and the pod's identity is not sent to clients in the clear. The scorer
// issues it on the response (ResponseHeader), naming the endpoint the
// request was routed to, as upstream's does.
type SessionAffinity struct {
	name   framework.TypedName
	header string
}

var (
	_ framework.Scorer         = (*SessionAffinity)(nil)
	_ framework.ResponseHeader = (*SessionAffinity)(nil)
)

// NewSessionAffinity returns a session affinity scorer named name (the type
// when empty) that reads the token from header (DefaultSessionHeader when
// empty). The header name is lower-cased, as HTTP/2 and Envoy deliver them.
func NewSessionAffinity(name, header string) *SessionAffinity {
	if header == "" {
		header = DefaultSessionHeader
	}
	return &SessionAffinity{name: framework.NewTypedName(SessionAffinityType, name), header: strings.ToLower(header)}
}

// SessionToken returns the session token that names the endpoint with the
// given metadata ID.
func SessionToken(endpointID string) string {
	return base64.StdEncoding.EncodeToString([]byte(endpointID))
}

// TypedName implements framework.Plugin.
func (s *SessionAffinity) TypedName() framework.TypedName { return s.name }

// Category implements framework.Scorer.
func (s *SessionAffinity) Category() framework.ScorerCategory { return framework.Affinity }

// Score implements framework.Scorer. As upstream: 1 for the endpoint the
// session token names and 0 for every other endpoint with metadata; all 0
// when there is no token, or one that is not valid base64 or names no
// candidate.
func (s *SessionAffinity) Score(_ context.Context, req *framework.InferenceRequest, endpoints []framework.Endpoint, scores []float64) {
	token := req.Headers[s.header]
	// Both buffers live on the stack: decoding must not allocate per request.
	var src, dst [maxSessionTokenLen]byte
	var id []byte
	if token != "" && len(token) <= maxSessionTokenLen {
		n := copy(src[:], token)
		if m, err := base64.StdEncoding.Decode(dst[:], src[:n]); err == nil && m > 0 {
			id = dst[:m]
		}
	}
	for i, ep := range endpoints {
		md := ep.GetMetadata()
		switch {
		case md == nil:
		case id != nil && md.ID == string(id):
			scores[i] = 1
		default:
			scores[i] = 0
		}
	}
}

// ResponseHeader implements framework.ResponseHeader: it sets the session
// header of the response to the token naming the primary profile's first
// target, the endpoint the request goes to, so that the client's next
// request of the session returns there. Without a target it writes nothing.
func (s *SessionAffinity) ResponseHeader(_ context.Context, _ *framework.InferenceRequest, result *framework.SchedulingResult, headers map[string]string) {
	if result == nil || headers == nil {
		return
	}
	primary := result.ProfileResults[result.PrimaryProfileName]
	if primary == nil || len(primary.TargetEndpoints) == 0 {
		return
	}
	if md := primary.TargetEndpoints[0].GetMetadata(); md != nil {
		headers[s.header] = SessionToken(md.ID)
	}
}
