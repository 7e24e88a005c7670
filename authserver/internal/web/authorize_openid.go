package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
	"github.com/portcullis-oauth/portcullis/authserver/internal/sessions"
)

// authTime is when the signed-in user signed in (the session's start).
func authTime(c *gin.Context) time.Time {
	if s, ok := c.Get(keySession); ok {
		return s.(sessions.Session).CreatedAt
	}
	return time.Time{}
}

// signInFor makes sure the right user is signed in, recently enough, for
// the authorization request a (OpenID Connect Core §3.1.2.1: prompt,
// max_age, id_token_hint, login_hint). With prompt=none it never shows a
// page: it sends login_required to the client instead. When it answered,
// ok is false.
func (h *Handler) signInFor(c *gin.Context, a oauth.Authorization) (accounts.User, bool) {
	if c.Request.Method != http.MethodGet {
		// The consent form's answer: the checks ran when it was shown.
		return h.requireUser(c)
	}
	o := a.OpenID
	u, signed := currentUser(c)
	if signed {
		stale := o.LoginStale(authTime(c), time.Now())
		other := o.HintSubject != "" && o.HintSubject != oidc.Subject(u.ID)
		if !stale && !other {
			return u, true
		}
	}
	if silent(c, a, oauth.CodeLoginRequired) {
		return accounts.User{}, false
	}
	// After the sign-in, come back without what asked for it, so that it
	// does not ask again.
	next := *c.Request.URL
	q := next.Query()
	if o.Has(oauth.PromptLogin) {
		q.Del("prompt")
		if o.Has(oauth.PromptConsent) {
			q.Set("prompt", oauth.PromptConsent)
		}
	}
	if o.MaxAge == 0 {
		q.Del("max_age")
	}
	q.Del("id_token_hint")
	next.RawQuery = q.Encode()
	login := url.Values{"next": {next.RequestURI()}}
	if signed { // the login page would send a signed-in user straight on
		login.Set("reauth", "1")
	}
	if o.LoginHint != "" {
		login.Set("login_hint", o.LoginHint)
	}
	c.Redirect(http.StatusFound, "/login/?"+login.Encode())
	return accounts.User{}, false
}

// silent answers an authorization request with prompt=none that needs
// the user, for sign-in or consent, with code at the client's redirect
// URI (Core §3.1.2.6), and reports true; without prompt=none it does
// nothing and reports false, and the caller shows its page. Every step of
// GET /o/authorize/ that would show a page or send the browser to one
// asks this first.
func silent(c *gin.Context, a oauth.Authorization, code string) bool {
	if !a.OpenID.Has(oauth.PromptNone) {
		return false
	}
	c.Redirect(http.StatusFound, a.SilentError(code).Location())
	return true
}

// consentNeeded reports whether the user must see the consent page, given
// what they granted the client before. prompt=consent always asks.
func consentNeeded(a oauth.Authorization, granted bool) bool {
	if a.OpenID.Has(oauth.PromptConsent) {
		return true
	}
	return !a.Client.SkipAuthorization && !granted
}
