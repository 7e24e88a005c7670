package oauth

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/scope"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// IntrospectRequest is a parsed POST (or GET) /o/introspect/.
type IntrospectRequest struct {
	Token         string
	TokenTypeHint string
	Credentials   Credentials
	// Bearer is the caller's own access token, when it authenticated with
	// one instead of client credentials.
	Bearer string
}

// Introspect answers RFC 7662. The caller must be an authenticated
// confidential client, or present a bearer token with the introspection
// scope (RFC 7662 §2.1). A caller with neither gets invalid_client (401,
// Basic); a Bearer caller whose token is not live gets invalid_token (401)
// and one whose token lacks the scope insufficient_scope (403), both with
// a Bearer challenge (RFC 7662 §2.3, RFC 6750 §3). An unknown, expired,
// revoked or malformed token is exactly wire.Inactive. Access tokens are
// looked up in one store read; a refresh token is reported only when the
// caller hints refresh_token, so that a resource server, which hints
// access_token, can never mistake a refresh token for an access token.
func (s *Server) Introspect(ctx context.Context, r IntrospectRequest) (wire.Introspection, *Error) {
	out, oerr := s.introspect(ctx, r)
	if oerr == nil {
		s.obs.Introspected(out.Active)
	}
	return out, oerr
}

func (s *Server) introspect(ctx context.Context, r IntrospectRequest) (wire.Introspection, *Error) {
	if oerr := s.authorizeIntrospection(ctx, r); oerr != nil {
		return wire.Introspection{}, oerr
	}
	if r.Token == "" {
		return wire.Inactive, nil
	}
	if r.TokenTypeHint == "refresh_token" {
		rec, err := s.tokens.LookupRefresh(ctx, r.Token)
		if err == nil {
			return introspection(rec.Grant, "refresh_token", rec.IssuedAt.Unix(), rec.ExpiresAt.Unix()), nil
		}
		if errors.Is(err, grant.ErrUnavailable) {
			return wire.Introspection{}, ErrUnavailable(err)
		}
	}
	rec, err := s.tokens.LookupAccess(ctx, r.Token)
	if errors.Is(err, grant.ErrUnavailable) {
		return wire.Introspection{}, ErrUnavailable(err)
	}
	if err != nil {
		return wire.Inactive, nil
	}
	return introspection(rec.Grant, wire.TokenType, rec.IssuedAt.Unix(), rec.ExpiresAt.Unix()), nil
}

func introspection(g grant.Grant, typ string, iat, exp int64) wire.Introspection {
	out := wire.Introspection{Active: true, Scope: g.Scope, Exp: exp, ClientID: g.ClientID, TokenType: typ, Iat: iat}
	if g.UserID != 0 {
		out.Username = g.Username
		out.Sub = strconv.FormatInt(g.UserID, 10)
	}
	return out
}

func (s *Server) authorizeIntrospection(ctx context.Context, r IntrospectRequest) *Error {
	if r.Credentials.Present() {
		c, oerr := s.authenticateClient(ctx, r.Credentials)
		if oerr != nil {
			return oerr
		}
		if c.IsPublic() {
			return ErrInvalidClient()
		}
		return nil
	}
	if r.Bearer == "" {
		return ErrInvalidClient()
	}
	rec, err := s.tokens.LookupAccess(ctx, r.Bearer)
	if errors.Is(err, grant.ErrUnavailable) {
		return ErrUnavailable(err)
	}
	if err != nil {
		return ErrInvalidToken()
	}
	if sc, _ := scope.Parse(rec.Scope); !sc.Has(s.cfg.IntrospectionScope) {
		return ErrInsufficientScope(s.cfg.IntrospectionScope)
	}
	return nil
}

// BearerToken extracts the token of an "Authorization: Bearer <t>" value
// (scheme case-insensitive, RFC 6750 §2.1), or "".
func BearerToken(authorization string) string {
	scheme, tok, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
