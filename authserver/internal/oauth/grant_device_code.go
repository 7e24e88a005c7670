package oauth

import (
	"context"
	"errors"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
)

// grantDeviceCode is the device access token request (RFC 8628 §3.4):
// only the client that started the flow may poll, and exactly one poll of
// an approved request gets the tokens (device.Store.Poll is atomic). With
// openid the authentication is kept for the family, so that this grant and
// its refreshes carry an id token.
func (s *Server) grantDeviceCode(ctx context.Context, c clients.Client, r TokenRequest) (grant.Issued, *Error) {
	if !s.DeviceEnabled() {
		return grant.Issued{}, ErrUnsupportedGrantType()
	}
	dc := r.Form.Get("device_code")
	if dc == "" {
		return grant.Issued{}, ErrInvalidRequest("Missing device_code parameter.")
	}
	if !c.AllowsGrant(clients.GrantDeviceCode) {
		return grant.Issued{}, ErrUnauthorizedClient()
	}
	g, err := s.devices.Poll(ctx, dc, c.ClientID)
	if err != nil {
		return grant.Issued{}, deviceError(err)
	}
	// The user approved a while ago: check they are still active, under
	// the generation read first, so that a revocation in between refuses
	// the issue (grant.Checked).
	gen, err := s.tokens.Generation(ctx)
	if err != nil {
		return grant.Issued{}, ErrUnavailable(err)
	}
	u, err := s.finder.ByID(ctx, g.UserID)
	if errors.Is(err, accounts.ErrNotFound) || err == nil && !u.IsActive {
		return grant.Issued{}, ErrInvalidGrant("")
	}
	if err != nil {
		return grant.Issued{}, ErrUnavailable(err)
	}
	iss, err := s.tokens.Issue(ctx, grant.Grant{ClientID: c.ClientID, UserID: u.ID, Username: u.Email, Scope: g.Scope,
		Checked: grant.Checked{User: gen, Client: c.Checked}}, issuesRefresh(c))
	if err != nil {
		return grant.Issued{}, storeError(err) // ErrRevoked too: invalid_grant
	}
	if s.OpenIDEnabled() && hasOpenID(iss.Scope) {
		a := oidc.Authentication{UserID: u.ID, Email: u.Email, AuthTime: g.AuthTime}
		if err := s.authns.RememberFamily(ctx, iss.Family, a); err != nil {
			s.discard(ctx, c, iss)
			return grant.Issued{}, ErrUnavailable(err)
		}
	}
	return iss, nil
}
