package oauth

import (
	"context"
	"net/url"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// TokenRequest is a parsed POST /o/token/.
type TokenRequest struct {
	Form        url.Values
	Credentials Credentials
	// ClientIP keys the login throttle.
	ClientIP string
}

// grantHandler is one grant type's Validate+Issue, after client
// authentication.
type grantHandler func(ctx context.Context, c clients.Client, r TokenRequest) (grant.Issued, *Error)

// grant returns the handler of a grant_type, or nil.
func (s *Server) grant(grantType string) grantHandler {
	switch grantType {
	case clients.GrantPassword:
		return s.grantPassword
	case clients.GrantClientCredentials:
		return s.grantClientCredentials
	case clients.GrantRefreshToken:
		return s.grantRefresh
	case clients.GrantAuthorizationCode:
		return s.grantAuthorizationCode
	case clients.GrantDeviceCode:
		return s.grantDeviceCode
	}
	return nil
}

// GrantTypes lists the grant types the token endpoint supports.
func (s *Server) GrantTypes() []string {
	g := []string{clients.GrantAuthorizationCode, clients.GrantPassword, clients.GrantClientCredentials, clients.GrantRefreshToken}
	if s.DeviceEnabled() {
		g = append(g, clients.GrantDeviceCode)
	}
	return g
}

// Token handles the token endpoint (RFC 6749 §3.2): it checks the request's
// shape, authenticates the client, then dispatches on grant_type.
func (s *Server) Token(ctx context.Context, r TokenRequest) (wire.TokenResponse, *Error) {
	if err := single(r.Form, "grant_type", "scope", "username", "password", "refresh_token", "code", "redirect_uri", "code_verifier", "device_code"); err != nil {
		return wire.TokenResponse{}, err
	}
	c, oerr := s.authenticateClient(ctx, r.Credentials)
	if oerr != nil {
		return wire.TokenResponse{}, oerr
	}
	h := s.grant(r.Form.Get("grant_type"))
	if h == nil {
		return wire.TokenResponse{}, ErrUnsupportedGrantType()
	}
	iss, oerr := h(ctx, c, r)
	if oerr != nil {
		return wire.TokenResponse{}, oerr
	}
	idToken, oerr := s.idToken(ctx, c, r, iss)
	if oerr != nil {
		return wire.TokenResponse{}, oerr
	}
	s.obs.Issued(r.Form.Get("grant_type"))
	return wire.TokenResponse{
		AccessToken:  iss.AccessToken,
		ExpiresIn:    int64(time.Until(iss.AccessExpiresAt).Round(time.Second).Seconds()),
		TokenType:    wire.TokenType,
		Scope:        iss.Scope,
		RefreshToken: iss.RefreshToken,
		IDToken:      idToken,
	}, nil
}

// issuesRefresh reports whether grants of client c come with a refresh
// token. As in DOT, a client registered for the password or
// authorization_code grant may refresh, even if refresh_token is not listed.
func issuesRefresh(c clients.Client) bool {
	return c.AllowsGrant(clients.GrantRefreshToken) || c.AllowsGrant(clients.GrantPassword) || c.AllowsGrant(clients.GrantAuthorizationCode) ||
		c.AllowsGrant(clients.GrantDeviceCode)
}
