package oauth

import (
	"context"
	"errors"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// grantRefresh is RFC 6749 §6 with rotation: every use returns a new
// refresh token, a scope may narrow but never widen past what the family was
// first granted, and a rotated-away token presented again revokes its whole
// family (RFC 9700 §4.14). A deactivated user's tokens no longer refresh.
func (s *Server) grantRefresh(ctx context.Context, c clients.Client, r TokenRequest) (tokens.Issued, *Error) {
	rt := r.Form.Get("refresh_token")
	if rt == "" {
		return tokens.Issued{}, ErrInvalidRequest("Missing refresh token parameter.")
	}
	if !issuesRefresh(c) {
		return tokens.Issued{}, ErrUnauthorizedClient()
	}
	rec, err := s.tokens.LookupRefresh(ctx, rt)
	if err != nil {
		if errors.Is(err, tokens.ErrNotFound) {
			// Perhaps a rotated-away token: Rotate detects the replay and
			// revokes the family.
			_, err = s.tokens.Rotate(ctx, rt, c.ClientID, "")
		}
		return tokens.Issued{}, storeError(err)
	}
	if rec.ClientID != c.ClientID {
		return tokens.Issued{}, ErrInvalidGrant("")
	}
	granted, _ := scope.Parse(rec.Scope)
	newScope := granted
	if req := r.Form.Get("scope"); req != "" {
		asked, err := scope.Parse(req)
		if err != nil || !granted.HasAll(asked) {
			return tokens.Issued{}, ErrInvalidScope()
		}
		newScope = asked
	}
	if rec.UserID != 0 {
		u, err := s.finder.ByID(ctx, rec.UserID)
		if errors.Is(err, accounts.ErrNotFound) || err == nil && !u.IsActive {
			return tokens.Issued{}, ErrInvalidGrant("")
		}
		if err != nil {
			return tokens.Issued{}, ErrUnavailable(err)
		}
	}
	iss, err := s.tokens.Rotate(ctx, rt, c.ClientID, newScope.String())
	if err != nil {
		return tokens.Issued{}, storeError(err)
	}
	return iss, nil
}
