package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/sessions"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// authorizeError redirects an error to the client when that is safe (a
// verified redirect URI, and a signed-in user or a trusted client: RFC
// 9700 §4.11.2), and shows any other on a page.
func (h *Handler) authorizeError(c *gin.Context, e *oauth.AuthorizeError) {
	_, signedIn := currentUser(c)
	if loc := e.Redirect(signedIn); loc != "" {
		c.Redirect(http.StatusFound, loc)
		return
	}
	if e.Status >= 500 {
		h.unavailable(c, e.Error)
		return
	}
	h.render(c, e.Status, "message", gin.H{"Title": "Authorization error", "Text": e.Code + ": " + e.Description})
}

// unavailableFor answers an authorization request for the signed-in user
// that a store failure stopped. A person reads the 503 page; a request
// with prompt=none has no one to read it, and its client waits for a
// redirect, so it gets temporarily_unavailable at the redirect URI (RFC
// 6749 §4.1.2.1), as a failed Approve does.
func (h *Handler) unavailableFor(c *gin.Context, a oauth.Authorization, err error) {
	e := oauth.ErrUnavailable(err)
	if !a.OpenID.Has(oauth.PromptNone) || e.Status < 500 {
		h.unavailable(c, err)
		return
	}
	h.d.Log.ErrorContext(c.Request.Context(), "authorization failed", "path", c.Request.URL.Path, "error", err)
	c.Redirect(http.StatusFound, (&oauth.AuthorizeError{Error: e, RedirectURI: a.RedirectURI, State: a.State}).Location())
}

// authorizeRequest validates an authorization request's parameters, then
// makes sure a user is signed in; when either fails it has answered, and
// ok is false.
func (h *Handler) authorizeRequest(c *gin.Context, params url.Values) (a oauth.Authorization, u accounts.User, ok bool) {
	a, aerr := h.d.OAuth.ParseAuthorize(c.Request.Context(), params)
	if aerr != nil {
		h.authorizeError(c, aerr)
		return a, u, false
	}
	u, ok = h.signInFor(c, a)
	return a, u, ok
}

// authorize is GET /o/authorize/: validate, then ask the user (or not).
func (h *Handler) authorize(c *gin.Context) {
	a, u, ok := h.authorizeRequest(c, c.Request.URL.Query())
	if !ok {
		return
	}
	granted := false
	if !a.Client.SkipAuthorization {
		prior, err := h.d.Clients.Store().ConsentedScope(c.Request.Context(), u.ID, a.Client.ID)
		if err != nil {
			h.unavailableFor(c, a, err)
			return
		}
		granted = prior != "" && scope.Set(strings.Fields(prior)).HasAll(a.Scope)
	}
	switch {
	case !consentNeeded(a, granted):
		h.approve(c, a)
	case silent(c, a, oauth.CodeConsentRequired):
	default:
		h.consent(c, a)
	}
}

type scopeLine struct{ Name, Description string }

func (h *Handler) consent(c *gin.Context, a oauth.Authorization) {
	lines := h.scopeLines(a.Scope.String())
	var fa []string
	if o := redirectOrigin(a.RedirectURI); o != "" {
		fa = append(fa, o)
	}
	h.render(c, http.StatusOK, "consent", gin.H{"Title": "Authorize " + a.Client.Name, "Client": a.Client,
		"Scopes": lines, "Params": a.Params()}, fa...)
}

// authorizePost is the consent form's answer.
func (h *Handler) authorizePost(c *gin.Context) {
	form := url.Values{}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce", "max_age"} {
		if vs, ok := c.Request.PostForm[k]; ok {
			form[k] = vs
		}
	}
	a, u, ok := h.authorizeRequest(c, form)
	if !ok {
		return
	}
	if c.Request.PostForm.Get("allow") == "" {
		c.Redirect(http.StatusSeeOther, a.Deny())
		return
	}
	if err := h.d.Clients.Store().GrantConsent(c.Request.Context(), u.ID, a.Client.ID, a.Scope.String()); err != nil {
		h.unavailable(c, err)
		return
	}
	h.approve(c, a)
}

// approve issues a code for a to the signed-in user. The revocation
// generation is read first, then the user is read again from the session,
// as the password grant does (oauth.Server.Generation): a deactivation or password
// reset that lands after this check bumps the user's epoch above that
// generation, and the code's tokens are refused; one that lands before
// it fails the check.
func (h *Handler) approve(c *gin.Context, a oauth.Authorization) {
	ctx := c.Request.Context()
	checked, err := h.d.OAuth.Generation(ctx)
	if err != nil {
		h.unavailableFor(c, a, err)
		return
	}
	sess, _ := c.Get(keySession)
	u, err := h.sessionUser(ctx, sess.(sessions.Session))
	if errors.Is(err, errSignedOut) {
		// Deactivated, deleted or given a new password since the session
		// was read: sign in again, which prompt=none cannot ask for.
		if !silent(c, a, oauth.CodeLoginRequired) {
			toLogin(c)
		}
		return
	}
	if err != nil {
		h.unavailableFor(c, a, err)
		return
	}
	a.OpenID.AuthTime = authTime(c)
	loc, aerr := h.d.OAuth.Approve(ctx, a, u.ID, u.Email, checked)
	if aerr != nil {
		h.authorizeError(c, aerr)
		return
	}
	status := http.StatusFound
	if c.Request.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	c.Redirect(status, loc)
}
