package oauth

import (
	"context"
	"errors"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
)

// grantClientCredentials is RFC 6749 §4.4: a confidential client gets an
// access token for itself, with no refresh token (§4.4.3).
func (s *Server) grantClientCredentials(ctx context.Context, c clients.Client, r TokenRequest) (grant.Issued, *Error) {
	if c.IsPublic() || !c.AllowsGrant(clients.GrantClientCredentials) {
		return grant.Issued{}, ErrUnauthorizedClient()
	}
	sc, oerr := s.resolveScope(c, r.Form.Get("scope"))
	if oerr != nil {
		return grant.Issued{}, oerr
	}
	iss, err := s.tokens.Issue(ctx, grant.Grant{ClientID: c.ClientID, Scope: sc.String(), Checked: grant.Checked{Client: c.Checked}}, false)
	if errors.Is(err, grant.ErrRevoked) { // the client changed since this replica read it
		return grant.Issued{}, ErrInvalidClient()
	}
	if err != nil {
		return grant.Issued{}, ErrUnavailable(err)
	}
	return iss, nil
}
