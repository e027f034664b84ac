// Package profilehandler holds the scheduler's profile handlers: they decide
// which scheduler profiles run for a request and turn their results into
// the scheduling result.
//
//	single-profile-handler  runs the one configured profile once and makes
//	                        it primary (upstream's default for a plain EPP,
//	                        /work/shared/reference/upstream-epp.md)
//
// Constructors take the instance name; an empty name means the type string.
package profilehandler
