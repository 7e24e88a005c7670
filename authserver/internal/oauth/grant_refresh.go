package oauth

import (
	"context"
	"errors"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// grantRefresh is RFC 6749 §6 with rotation: every use returns a new
// refresh token, a scope may narrow but never widen past what the family was
// first granted, and a rotated-away token presented again revokes its whole
// family (RFC 9700 §4.14). The token store checks all of that in one Redis
// round trip and no SQL: the rotation script compares the family's
// generation with its user's and client's epochs (tokens/epoch.go), so a
// family issued before a deactivation, a password change or a change of
// the client is refused, whether or not the index walk reached it yet.
func (s *Server) grantRefresh(ctx context.Context, c clients.Client, r TokenRequest) (tokens.Issued, *Error) {
	rt := r.Form.Get("refresh_token")
	if rt == "" {
		return tokens.Issued{}, ErrInvalidRequest("Missing refresh token parameter.")
	}
	if !issuesRefresh(c) {
		return tokens.Issued{}, ErrUnauthorizedClient()
	}
	asked := r.Form.Get("scope")
	if _, err := scope.Parse(asked); err != nil {
		return tokens.Issued{}, ErrInvalidScope()
	}
	iss, err := s.tokens.Rotate(ctx, rt, c.ClientID, asked)
	switch {
	case err == nil:
		return iss, nil
	case errors.Is(err, tokens.ErrScope):
		return tokens.Issued{}, ErrInvalidScope()
	}
	return tokens.Issued{}, storeError(err)
}
