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
// round trip and no SQL: a user who is deactivated or changes password has
// their token families revoked at that moment, so a live refresh token
// always belongs to an active user.
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
