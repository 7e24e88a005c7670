package oauth

import (
	"context"
	"net/url"
)

// RevokeRequest is a parsed POST /o/revoke_token/.
type RevokeRequest struct {
	Form        url.Values
	Credentials Credentials
}

// Revoke implements RFC 7009. The client must authenticate (a public client
// by its id). It can revoke only its own tokens; an unknown or foreign token
// still succeeds (§2.2) and changes nothing. A refresh token takes the
// access tokens of its grant with it.
func (s *Server) Revoke(ctx context.Context, r RevokeRequest) *Error {
	if err := single(r.Form, "token", "token_type_hint"); err != nil {
		return err
	}
	c, oerr := s.authenticateClient(ctx, r.Credentials)
	if oerr != nil {
		return oerr
	}
	tok := r.Form.Get("token")
	if tok == "" {
		return ErrInvalidRequest("Missing token parameter.")
	}
	if _, err := s.tokens.RevokeToken(ctx, tok, r.Form.Get("token_type_hint"), c.ClientID); err != nil {
		return storeError(err)
	}
	return nil
}
