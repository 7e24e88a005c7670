package oauth

import (
	"net/http"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// Error is a protocol error: the RFC 6749 §5.2 code and description sent to
// the client, the HTTP status, and a cause that is logged, never sent.
// Compare errors by Code.
type Error struct {
	Code        string
	Description string
	Status      int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration
	cause      error
	// bearer marks an error about the caller's own Bearer token, challenged
	// as RFC 6750 §3 says; scope is the scope that token lacked.
	bearer bool
	scope  string
}

// Challenge is the WWW-Authenticate value to send with e, or "": a Bearer
// challenge for an error about the caller's Bearer token (RFC 6750 §3,
// which RFC 7662 §2.3 refers introspection callers to), Basic for any
// other 401 (RFC 6749 §5.2).
func (e *Error) Challenge() string {
	switch {
	case e.bearer && e.Code == "": // no credentials at all (RFC 6750 §3.1)
		return `Bearer realm="portcullis"`
	case e.bearer:
		ch := `Bearer realm="portcullis", error="` + e.Code + `"`
		if e.scope != "" {
			ch += `, scope="` + e.scope + `"`
		}
		return ch
	case e.Status == http.StatusUnauthorized:
		return `Basic realm="portcullis"`
	}
	return ""
}

func (e *Error) Error() string {
	s := "oauth: " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

// Wire returns the body sent to the client.
func (e *Error) Wire() wire.Error { return wire.Error{Code: e.Code, Description: e.Description} }

// The error codes (RFC 6749 §5.2, plus the registered
// temporarily_unavailable and slow_down).
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidClient        = "invalid_client"
	CodeInvalidGrant         = "invalid_grant"
	CodeUnauthorizedClient   = "unauthorized_client"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeInvalidScope         = "invalid_scope"
	CodeTemporarilyUnavail   = "temporarily_unavailable"
	CodeSlowDown             = "slow_down"
	// RFC 6750 §3.1, about a Bearer token the caller authenticated with.
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

// ErrInvalidRequest is a missing, repeated or malformed parameter.
func ErrInvalidRequest(desc string) *Error {
	return &Error{Code: CodeInvalidRequest, Description: desc, Status: http.StatusBadRequest}
}

// ErrInvalidClient is a failed client authentication: 401, and the HTTP
// layer adds WWW-Authenticate: Basic.
func ErrInvalidClient() *Error {
	return &Error{Code: CodeInvalidClient, Status: http.StatusUnauthorized}
}

// ErrInvalidToken is a caller's Bearer token that is unknown, expired or
// revoked: 401 with a Bearer challenge (RFC 6750 §3.1).
func ErrInvalidToken() *Error {
	return &Error{Code: CodeInvalidToken, Description: "The access token is invalid.", Status: http.StatusUnauthorized, bearer: true}
}

// ErrInsufficientScope is a caller's Bearer token without the scope the
// request needs: 403 with a Bearer challenge naming it (RFC 6750 §3.1).
func ErrInsufficientScope(scope string) *Error {
	return &Error{Code: CodeInsufficientScope, Description: "The access token lacks the " + scope + " scope.",
		Status: http.StatusForbidden, bearer: true, scope: scope}
}

// ErrInvalidGrant is a bad credential, code or refresh token.
func ErrInvalidGrant(desc string) *Error {
	return &Error{Code: CodeInvalidGrant, Description: desc, Status: http.StatusBadRequest}
}

// ErrUnauthorizedClient is a client not registered for the grant.
func ErrUnauthorizedClient() *Error {
	return &Error{Code: CodeUnauthorizedClient, Status: http.StatusBadRequest}
}

// ErrUnsupportedGrantType is a missing or unknown grant_type.
func ErrUnsupportedGrantType() *Error {
	return &Error{Code: CodeUnsupportedGrantType, Status: http.StatusBadRequest}
}

// ErrInvalidScope is an unknown scope, or one the client may not have.
func ErrInvalidScope() *Error {
	return &Error{Code: CodeInvalidScope, Status: http.StatusBadRequest}
}

// ErrUnavailable is a store that cannot be reached: 503, retry shortly.
// A store that refused the request's own text instead (a NUL byte or
// invalid UTF-8 in client_id, username, …: database.IsInvalidText) is no
// outage but the caller's malformed parameter: invalid_request, 400.
func ErrUnavailable(cause error) *Error {
	if database.IsInvalidText(cause) {
		return &Error{Code: CodeInvalidRequest, Description: "A parameter contains a NUL byte or invalid UTF-8.",
			Status: http.StatusBadRequest, cause: cause}
	}
	return &Error{Code: CodeTemporarilyUnavail, Description: "The server is temporarily unable to handle the request.",
		Status: http.StatusServiceUnavailable, RetryAfter: 5 * time.Second, cause: cause}
}

// ErrThrottled is too many failed logins: 429 with Retry-After.
func ErrThrottled(retry time.Duration) *Error {
	return &Error{Code: CodeSlowDown, Description: "Too many failed login attempts. Try again later.",
		Status: http.StatusTooManyRequests, RetryAfter: retry}
}
