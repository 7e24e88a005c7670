package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
)

// Logout is a valid RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0 §2).
type Logout struct {
	// Subject is the sub of a valid id_token_hint, or "": with it, the
	// user signed in as that sub is logged out without being asked.
	Subject string
	// ClientID is the relying party, from client_id or the hint's aud.
	ClientID string
	// Redirect is the registered post_logout_redirect_uri with state
	// added, or "" when the request named none (a page is shown instead).
	Redirect string
	// Params reproduce the request (the confirmation form carries them).
	Params url.Values
}

// ParseLogout validates an end-session request. A post_logout_redirect_uri
// is followed only when it is registered, exactly, for the client that the
// request names by client_id or id_token_hint (§3); every error is for a
// page, never a redirect. An expired id_token_hint is accepted; one this
// server did not sign, or for another client than client_id, is not.
func (s *Server) ParseLogout(ctx context.Context, q url.Values) (Logout, *Error) {
	if e := single(q, "id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales"); e != nil {
		return Logout{}, e
	}
	l := Logout{ClientID: q.Get("client_id"), Params: url.Values{}}
	for _, n := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if q.Has(n) {
			l.Params.Set(n, q.Get(n))
		}
	}
	if h := q.Get("id_token_hint"); h != "" {
		sub, aud, err := s.idTokens.HintAudience(ctx, h)
		if errors.Is(err, oidc.ErrHint) || err == nil && l.ClientID != "" && aud != l.ClientID {
			return Logout{}, ErrInvalidRequest("Invalid id_token_hint.")
		}
		if err != nil {
			return Logout{}, ErrUnavailable(err)
		}
		l.Subject, l.ClientID = sub, aud
	}
	uri := q.Get("post_logout_redirect_uri")
	if uri == "" {
		return l, nil
	}
	if l.ClientID == "" {
		return Logout{}, ErrInvalidRequest("post_logout_redirect_uri needs client_id or id_token_hint.")
	}
	c, err := s.lookup.Get(ctx, l.ClientID)
	if errors.Is(err, clients.ErrNotFound) {
		return Logout{}, ErrInvalidRequest("Unknown application.")
	}
	if err != nil {
		return Logout{}, ErrUnavailable(err)
	}
	if !slices.Contains(c.PostLogoutRedirectURIs(), uri) {
		return Logout{}, ErrInvalidRequest("Mismatching post_logout_redirect_uri.")
	}
	l.Redirect = uri
	if st := q.Get("state"); st != "" {
		l.Redirect = addQuery(uri, url.Values{"state": {st}})
	}
	return l, nil
}
