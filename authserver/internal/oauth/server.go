package oauth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// clientAuthenticator finds and authenticates clients (clients.Registry).
type clientAuthenticator interface {
	Authenticate(ctx context.Context, clientID, secret string, secretSent bool) (clients.Client, error)
}

// userAuthenticator checks resource owner credentials (accounts.Service).
type userAuthenticator interface {
	Authenticate(ctx context.Context, email, password string) (accounts.User, error)
}

// userFinder reads a user by id (accounts.Store).
type userFinder interface {
	ByID(ctx context.Context, id int64) (accounts.User, error)
}

// TokenStore issues, finds, rotates and revokes tokens; the token store
// (tokens.Store) implements it, checked where cmd wires them.
type TokenStore interface {
	Issue(ctx context.Context, g grant.Grant, withRefresh bool) (grant.Issued, error)
	LookupAccess(ctx context.Context, token string) (grant.Access, error)
	LookupRefresh(ctx context.Context, token string) (grant.Refresh, error)
	Rotate(ctx context.Context, refreshToken, clientID, newScope string) (grant.Issued, error)
	RevokeToken(ctx context.Context, token, hint, clientID string) (bool, error)
	Generation(ctx context.Context) (int64, error)
}

// throttler counts login attempts (throttle.Limiter).
type throttler interface {
	Begin(ctx context.Context, keys ...string) (*throttle.Attempt, time.Duration, error)
}

var (
	_ clientAuthenticator = (*clients.Registry)(nil)
	_ userAuthenticator   = (*accounts.Service)(nil)
	_ userFinder          = (*accounts.Store)(nil)
	_ throttler           = (*throttle.Limiter)(nil)
)

// Config is the protocol configuration.
type Config struct {
	// Scopes are every scope the server knows, in display order.
	Scopes scope.Set
	// DefaultScopes are granted when a request names none.
	DefaultScopes scope.Set
	// IntrospectionScope lets a bearer token call introspection.
	IntrospectionScope string
}

// Server implements the OAuth endpoints. Safe for concurrent use.
type Server struct {
	cfg      Config
	clients  clientAuthenticator
	users    userAuthenticator
	finder   userFinder
	tokens   TokenStore
	throttle throttler
	log      *slog.Logger
	codes    CodeStore
	lookup   clientLookup
	obs      observer
	authns   authnStore
	idTokens idTokenIssuer
	devices  deviceStore
}

// Deps are the stores a Server calls.
type Deps struct {
	Clients  clientAuthenticator
	Users    userAuthenticator
	Finder   userFinder
	Tokens   TokenStore
	Throttle throttler
	Log      *slog.Logger
	// Codes and Lookup serve the authorization code flow
	// (endpoint_authorize.go); without them it answers temporarily_unavailable.
	Codes  CodeStore
	Lookup clientLookup
	// Metrics counts protocol events; nil counts nothing.
	Metrics observer
	// Authentications and IDTokens make the server an OpenID Provider
	// (openid.go); without them no id token is issued.
	Authentications authnStore
	IDTokens        idTokenIssuer
	// Devices serves the device authorization grant (RFC 8628); without
	// it the grant is not offered.
	Devices deviceStore
}

// observer counts protocol events (metrics.Metrics).
type observer interface {
	Issued(grant string)
	Introspected(active bool)
	Throttled()
}

type noObserver struct{}

func (noObserver) Issued(string)     {}
func (noObserver) Introspected(bool) {}
func (noObserver) Throttled()        {}

// NewServer returns a Server.
func NewServer(cfg Config, d Deps) *Server {
	if cfg.IntrospectionScope == "" {
		cfg.IntrospectionScope = "introspection"
	}
	s := &Server{cfg: cfg, clients: d.Clients, users: d.Users, finder: d.Finder, tokens: d.Tokens, throttle: d.Throttle, log: d.Log,
		codes: d.Codes, lookup: d.Lookup, obs: d.Metrics, authns: d.Authentications, idTokens: d.IDTokens, devices: d.Devices}
	if s.obs == nil {
		s.obs = noObserver{}
	}
	return s
}

// Config returns the server's configuration.
func (s *Server) Config() Config { return s.cfg }

// authenticateClient checks credentials. A missing or bad client is
// invalid_client; a store failure is 503.
func (s *Server) authenticateClient(ctx context.Context, cr Credentials) (clients.Client, *Error) {
	if !cr.Present() {
		return clients.Client{}, ErrInvalidClient()
	}
	c, err := s.clients.Authenticate(ctx, cr.ClientID, cr.Secret, cr.SecretSent)
	if errors.Is(err, clients.ErrInvalidClient) {
		return clients.Client{}, ErrInvalidClient()
	}
	if err != nil {
		return clients.Client{}, ErrUnavailable(err)
	}
	return c, nil
}

// storeError maps a token store error: unavailable is 503, anything else
// (a user or client revoked since it was checked too) is an invalid grant.
func storeError(err error) *Error {
	if errors.Is(err, grant.ErrUnavailable) {
		return ErrUnavailable(err)
	}
	return ErrInvalidGrant("")
}

// resolveScope validates a requested scope string against the configured
// scopes and the client's allowed ones. An empty request gets the default
// scopes the client may have; none at all is invalid_scope. The result
// keeps the request's order.
func (s *Server) resolveScope(c clients.Client, requested string) (scope.Set, *Error) {
	allowed := s.cfg.Scopes
	if cs := c.Scopes(); len(cs) > 0 {
		allowed = scope.Set(cs)
	}
	if requested == "" {
		var out scope.Set
		for _, d := range s.cfg.DefaultScopes {
			if allowed.Has(d) {
				out = append(out, d)
			}
		}
		if len(out) == 0 { // the client may have none of the default scopes
			return nil, ErrInvalidScope()
		}
		return out, nil
	}
	req, err := scope.Parse(requested)
	if err != nil || len(req) == 0 {
		return nil, ErrInvalidScope()
	}
	for _, r := range req {
		if !s.cfg.Scopes.Has(r) || !allowed.Has(r) {
			return nil, ErrInvalidScope()
		}
	}
	return req, nil
}
