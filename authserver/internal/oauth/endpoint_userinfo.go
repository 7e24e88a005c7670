package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
)

// UserInfo is the userinfo response (OpenID Connect Core §5.3.2). sub is
// the same as in the id token and in introspection.
type UserInfo struct {
	Sub           string `json:"sub"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// UserInfo answers the userinfo endpoint for an access token (Core §5.3),
// which must carry the openid scope and belong to an active user. Errors
// are RFC 6750 §3's (invalid_token 401, insufficient_scope 403) or 503.
func (s *Server) UserInfo(ctx context.Context, accessToken string) (UserInfo, *Error) {
	if accessToken == "" {
		return UserInfo{}, &Error{Status: http.StatusUnauthorized, bearer: true} // RFC 6750 §3.1: no error code without credentials
	}
	rec, err := s.tokens.LookupAccess(ctx, accessToken)
	if errors.Is(err, grant.ErrUnavailable) {
		return UserInfo{}, ErrUnavailable(err)
	}
	if err != nil || rec.UserID == 0 {
		return UserInfo{}, ErrInvalidToken()
	}
	sc := strings.Fields(rec.Scope)
	if !slices.Contains(sc, oidc.ScopeOpenID) {
		return UserInfo{}, ErrInsufficientScope(oidc.ScopeOpenID)
	}
	u, err := s.finder.ByID(ctx, rec.UserID)
	if errors.Is(err, accounts.ErrNotFound) || err == nil && !u.IsActive {
		return UserInfo{}, ErrInvalidToken()
	}
	if err != nil {
		return UserInfo{}, ErrUnavailable(err)
	}
	out := UserInfo{Sub: oidc.Subject(u.ID)}
	if slices.Contains(sc, oidc.ScopeEmail) {
		f := false
		out.Email, out.EmailVerified = u.Email, &f
	}
	return out, nil
}
