// Package grant is what the protocol (oauth), the lifecycle and the token
// store agree on: what a token family was granted for (RFC 6749 §1.3), the
// records a lookup returns, the tokens an issue returns, an authorization
// code's record (RFC 6749 §4.1.2), and the sentinel errors a token store
// returns. It imports nothing of ours, so that oauth and lifecycle declare
// the small store interfaces they need in these terms while the handlers
// above them (web, httpapi) never depend on the tokens package.
package grant
