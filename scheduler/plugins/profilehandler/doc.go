// Package profilehandler holds the scheduler's profile handlers: they decide
// which scheduler profiles run for a request and turn their results into
// the scheduling result.
//
//	single-profile-handler  runs the one configured profile once and makes
//	                        it primary (upstream's default for a plain EPP,
//	                        /work/shared/reference/upstream-epp.md)
//	disagg-profile-handler  prefill/decode disaggregation as upstream's: the
//	                        decode profile, then, if its Decider says so
//	                        (prefix-based-pd-decider: the prompt's part the
//	                        decode endpoint does not cache is long enough),
//	                        the prefill profile; one pick_disagg_profile
//	                        span per decision, with upstream's keys
//
// Constructors take the instance name; an empty name means the type string.
package profilehandler
