package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// Errors returned by Service.
var (
	// ErrNotFound: the token is unknown, expired, revoked or malformed.
	ErrNotFound = errors.New("lifecycle: token not found")
	// ErrUnavailable: the token store failed (Redis down); the change
	// may have to be repeated.
	ErrUnavailable = errors.New("lifecycle: token store unavailable")
)

// tokenStore is what the lifecycle needs of the token store (tokens.Store).
type tokenStore interface {
	LookupAccess(ctx context.Context, token string) (tokens.Access, error)
	RevokeUser(ctx context.Context, userID int64, keep string, reason revocation.Reason) error
	RevokeClient(ctx context.Context, clientID string, reason revocation.Reason) error
	RevokeUserClient(ctx context.Context, userID int64, clientID string, reason revocation.Reason) error
	ClientUpdated(ctx context.Context, clientID string) error
}

// clientCache is this process's client cache (clients.Registry); other
// replicas forget on the event RevokeClient publishes.
type clientCache interface {
	Forget(clientID string)
}

var (
	_ tokenStore  = (*tokens.Store)(nil)
	_ clientCache = (*clients.Registry)(nil)
)

// Service applies the token consequences of account and client changes.
// Safe for concurrent use.
type Service struct {
	tokens  tokenStore
	clients clientCache
}

// New returns a Service.
func New(t tokenStore, c clientCache) *Service { return &Service{tokens: t, clients: c} }

// Bearer is the holder of an access token presented as a Bearer token
// (RFC 6750), as the REST endpoints need it.
type Bearer struct {
	UserID   int64 // 0 for a token without a user (client_credentials)
	ClientID string
	Scope    string
	token    string
}

// Bearer looks up an access token. Errors: ErrNotFound, ErrUnavailable.
func (s *Service) Bearer(ctx context.Context, token string) (Bearer, error) {
	a, err := s.tokens.LookupAccess(ctx, token)
	if err != nil {
		return Bearer{}, wrap("bearer", err)
	}
	return Bearer{UserID: a.UserID, ClientID: a.ClientID, Scope: a.Scope, token: token}, nil
}

// UserDeactivated ends every token of a user whose deactivation has been
// committed. Errors: ErrUnavailable.
func (s *Service) UserDeactivated(ctx context.Context, userID int64) error {
	return wrap("deactivate user", s.tokens.RevokeUser(ctx, userID, "", revocation.ReasonDeactivated))
}

// PasswordReset ends every token of a user whose password an admin has
// set (what an admin does to a compromised account). Errors:
// ErrUnavailable.
func (s *Service) PasswordReset(ctx context.Context, userID int64) error {
	return wrap("reset password", s.tokens.RevokeUser(ctx, userID, "", revocation.ReasonPasswordReset))
}

// PasswordChanged ends every token of the user who changed their password
// with by, except by and the rest of its grant (the caller stays signed
// in). Errors: ErrUnavailable.
func (s *Service) PasswordChanged(ctx context.Context, by Bearer) error {
	return wrap("change password", s.tokens.RevokeUser(ctx, by.UserID, by.token, revocation.ReasonPasswordChange))
}

// ClientDeleted ends every token of a deleted client, and drops it from
// every replica's client cache. Errors: ErrUnavailable.
func (s *Service) ClientDeleted(ctx context.Context, clientID string) error {
	s.clients.Forget(clientID)
	return wrap("delete client", s.tokens.RevokeClient(ctx, clientID, revocation.ReasonClientDeleted))
}

// ClientChanged applies a committed change of a client from before to
// after. A change of what the client's tokens were issued on (its id,
// type, secret, grant types, redirect URIs or scopes) ends every token of
// the client, under its old id, and reaches every replica's client cache
// through the event; any other change (name, skip_authorization) leaves
// the tokens, and an event makes every replica reload the client.
// Errors: ErrUnavailable.
func (s *Service) ClientChanged(ctx context.Context, before, after clients.Client) error {
	s.clients.Forget(before.ClientID)
	s.clients.Forget(after.ClientID)
	if !securityChange(before, after) {
		return wrap("update client", s.tokens.ClientUpdated(ctx, after.ClientID))
	}
	return wrap("change client", s.tokens.RevokeClient(ctx, before.ClientID, revocation.ReasonClientChanged))
}

// securityChange reports whether a client changed in a way that must end
// its tokens.
func securityChange(before, after clients.Client) bool {
	return before.ClientID != after.ClientID || before.Type != after.Type || before.SecretHash != after.SecretHash ||
		!sameSet(before.GrantTypes(), after.GrantTypes()) || !sameSet(before.RedirectURIs(), after.RedirectURIs()) ||
		!sameSet(before.Scopes(), after.Scopes())
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// ApplicationRevoked ends every token a user granted to a client (the
// user's "revoke" on /o/authorized_tokens/). Errors: ErrUnavailable.
func (s *Service) ApplicationRevoked(ctx context.Context, userID int64, clientID string) error {
	return wrap("revoke application", s.tokens.RevokeUserClient(ctx, userID, clientID, revocation.ReasonApplicationRevoked))
}

func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tokens.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, tokens.ErrUnavailable):
		return fmt.Errorf("lifecycle: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("lifecycle: %s: %w", op, err)
}
