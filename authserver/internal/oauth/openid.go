package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// authnStore remembers who authenticated for a code or a token family
// (oidc.Store).
type authnStore interface {
	RememberCode(ctx context.Context, code string, a oidc.Authentication) error
	TakeCode(ctx context.Context, code string) (oidc.Authentication, error)
	RememberFamily(ctx context.Context, fam string, a oidc.Authentication) error
	Family(ctx context.Context, fam string) (oidc.Authentication, error)
}

// idTokenIssuer signs id tokens and reads back id_token_hints
// (oidc.Issuer).
type idTokenIssuer interface {
	IDToken(ctx context.Context, t oidc.Token) (string, error)
	HintSubject(ctx context.Context, hint, clientID string) (string, error)
	HintAudience(ctx context.Context, hint string) (sub, aud string, err error)
}

var (
	_ authnStore    = (*oidc.Store)(nil)
	_ idTokenIssuer = (*oidc.Issuer)(nil)
)

// OpenIDEnabled reports whether the server is an OpenID Provider (a
// key-encryption key is configured).
func (s *Server) OpenIDEnabled() bool { return s != nil && s.idTokens != nil && s.authns != nil }

// hasOpenID reports whether a space-separated scope holds openid.
func hasOpenID(sc string) bool { return scope.Set(strings.Fields(sc)).Has(oidc.ScopeOpenID) }

// clientAlgorithm is the id token algorithm of c: its own choice, else
// RS256.
func clientAlgorithm(c clients.Client) string {
	if c.Algorithm == signing.ES256 {
		return signing.ES256
	}
	return signing.RS256
}

// idToken is the id token that goes with tokens just issued by grant, or
// "" when none does: only grants with the openid scope that come from an
// authentication (the code, and refreshes of its family) carry one. When
// the id token cannot be made, the tokens just issued are revoked, so a
// failed answer leaves nothing usable behind.
func (s *Server) idToken(ctx context.Context, c clients.Client, r TokenRequest, iss grant.Issued) (string, *Error) {
	if !s.OpenIDEnabled() || !hasOpenID(iss.Scope) {
		return "", nil
	}
	var a oidc.Authentication
	var err error
	switch r.Form.Get("grant_type") {
	case clients.GrantAuthorizationCode:
		a, err = s.authns.TakeCode(ctx, r.Form.Get("code"))
		if err == nil && iss.RefreshToken != "" {
			err = s.authns.RememberFamily(ctx, iss.Family, a)
		}
	case clients.GrantRefreshToken, clients.GrantDeviceCode:
		a, err = s.authns.Family(ctx, iss.Family)
		if errors.Is(err, oidc.ErrNotFound) {
			return "", nil // a family that began without a sign-in (password grant)
		}
	default:
		return "", nil
	}
	var tok string
	if err == nil {
		tok, err = s.idTokens.IDToken(ctx, oidc.Token{ClientID: c.ClientID, Alg: clientAlgorithm(c), Auth: a,
			AccessToken: iss.AccessToken, Scope: strings.Fields(iss.Scope)})
	}
	if err != nil {
		s.discard(ctx, c, iss)
		return "", ErrUnavailable(err)
	}
	return tok, nil
}

// discard revokes tokens that were issued but cannot be handed out.
func (s *Server) discard(ctx context.Context, c clients.Client, iss grant.Issued) {
	t, hint := iss.AccessToken, "access_token"
	if iss.RefreshToken != "" {
		t, hint = iss.RefreshToken, "refresh_token"
	}
	if _, err := s.tokens.RevokeToken(context.WithoutCancel(ctx), t, hint, c.ClientID); err != nil {
		s.log.ErrorContext(ctx, "tokens issued without their id token could not be revoked", "client_id", c.ClientID, "error", err)
	}
}
