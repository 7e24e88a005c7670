package middleware

import (
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// Sentinel errors of Verify. Match them with errors.Is.
var (
	// ErrInvalidToken: the token is empty, malformed, inactive, expired,
	// meant for another audience, or not an access token (a refresh or ID
	// token the auth server calls active) (RFC 6750 invalid_token).
	ErrInvalidToken = errors.New("middleware: invalid token")
	// ErrUnavailable: the auth server could not vouch for the token
	// (unreachable, timeout, 5xx, 429 or back-off, bad answer, or the
	// caller's context ended first). The request should fail closed.
	ErrUnavailable = errors.New("middleware: introspection unavailable")
	// ErrCredentialsRejected: the introspection endpoint answered 401 or
	// 403: it rejects the verifier's own client credentials or bearer
	// token. Such errors match ErrUnavailable too (the request fails
	// closed); Check reports it to readiness probes.
	ErrCredentialsRejected = errors.New("middleware: introspection endpoint rejects the verifier's credentials")
	// ErrInsufficientScope: the token lacks a required scope
	// (RFC 6750 insufficient_scope). The error is a *ScopeError.
	ErrInsufficientScope = errors.New("middleware: insufficient scope")
)

// Pre-built errors, so that rejecting a token costs no allocation.
var (
	errEmpty        = fmt.Errorf("middleware: empty token: %w", ErrInvalidToken)
	errTooLong      = fmt.Errorf("middleware: token too long: %w", ErrInvalidToken)
	errInactive     = fmt.Errorf("middleware: token not active: %w", ErrInvalidToken)
	errExpired      = fmt.Errorf("middleware: token expired: %w", ErrInvalidToken)
	errAudience     = fmt.Errorf("middleware: token audience mismatch: %w", ErrInvalidToken)
	errBadClaims    = fmt.Errorf("middleware: active answer with malformed claims: %w", ErrInvalidToken)
	errNotAccess    = fmt.Errorf("middleware: active answer for a token that is not an access token: %w", ErrInvalidToken)
	errBackoffEmpty = &unavailableError{cause: errors.New("middleware: backing off after 429")}
)

// ScopeError is the ErrInsufficientScope error: Required is what was asked
// for, Missing what the token lacks.
type ScopeError struct {
	Required, Missing scope.Set
}

func (e *ScopeError) Error() string {
	return "middleware: insufficient scope: missing " + e.Missing.String()
}

// Is makes errors.Is(err, ErrInsufficientScope) true.
func (e *ScopeError) Is(target error) bool { return target == ErrInsufficientScope }

// unavailableError is ErrUnavailable with its cause and a retry hint.
type unavailableError struct {
	cause      error
	retryAfter time.Duration // 0: unknown
}

func (e *unavailableError) Error() string {
	return "middleware: introspection unavailable: " + e.cause.Error()
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }

func unavailable(format string, args ...any) error {
	return &unavailableError{cause: fmt.Errorf(format, args...)}
}
