package oauth

import (
	"context"
	"errors"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

// grantClientCredentials is RFC 6749 §4.4: a confidential client gets an
// access token for itself, with no refresh token (§4.4.3).
func (s *Server) grantClientCredentials(ctx context.Context, c clients.Client, r TokenRequest) (tokens.Issued, *Error) {
	if c.IsPublic() || !c.AllowsGrant(clients.GrantClientCredentials) {
		return tokens.Issued{}, ErrUnauthorizedClient()
	}
	sc, oerr := s.resolveScope(c, r.Form.Get("scope"))
	if oerr != nil {
		return tokens.Issued{}, oerr
	}
	if len(sc) == 0 {
		return tokens.Issued{}, ErrInvalidScope() // the client may have none of the default scopes
	}
	iss, err := s.tokens.Issue(ctx, tokens.Grant{ClientID: c.ClientID, Scope: sc.String(), Checked: tokens.Checked{Client: c.Checked}}, false)
	if errors.Is(err, tokens.ErrRevoked) { // the client changed since this replica read it
		return tokens.Issued{}, ErrInvalidClient()
	}
	if err != nil {
		return tokens.Issued{}, ErrUnavailable(err)
	}
	return iss, nil
}
