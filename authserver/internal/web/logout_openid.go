package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
)

// signOut ends the browser session, if any, and clears its cookie.
func (h *Handler) signOut(c *gin.Context) error {
	if sid, ok := c.Get(keySID); ok {
		if err := h.d.Sessions.Delete(c.Request.Context(), sid.(string)); err != nil {
			return err
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: h.d.SecureCookies, SameSite: http.SameSiteLaxMode})
	return nil
}

// endSession is RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0), GET or POST /o/logout/. A request with an id_token_hint for the
// signed-in user (or with nobody signed in) logs out at once; any other
// asks the user first (§6: a bare logout link must not sign people out).
// Then the browser goes to the registered post_logout_redirect_uri, with
// state, or sees a page.
func (h *Handler) endSession(c *gin.Context) {
	params := c.Request.URL.Query()
	confirmed := false
	if c.Request.Method == http.MethodPost {
		params, confirmed = c.Request.PostForm, c.Request.PostForm.Get("confirm") != ""
	}
	l, e := h.d.OAuth.ParseLogout(c.Request.Context(), params)
	if e != nil {
		if e.Status >= 500 {
			h.unavailable(c, e)
			return
		}
		h.render(c, e.Status, "message", gin.H{"Title": "Logout error", "Text": e.Code + ": " + e.Description})
		return
	}
	var formAction []string
	if o := redirectOrigin(l.Redirect); o != "" {
		formAction = append(formAction, o)
	}
	if u, signed := currentUser(c); signed && !confirmed && l.Subject != oidc.Subject(u.ID) {
		h.render(c, http.StatusOK, "end_session", gin.H{"Title": "Log out", "Email": u.Email, "Params": l.Params}, formAction...)
		return
	}
	if err := h.signOut(c); err != nil {
		h.unavailable(c, err)
		return
	}
	if l.Redirect != "" {
		c.Redirect(http.StatusSeeOther, l.Redirect)
		return
	}
	h.render(c, http.StatusOK, "message", gin.H{"Title": "Logged out", "Text": "You have been logged out."})
}

// endSessionPost is the POST form of endSession. A relying party may post
// its logout request from its own site (§2), so the CSRF check applies
// only to the confirmation form's answer, which is what acts without an
// id_token_hint.
func (h *Handler) endSessionPost(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		h.message(c, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	if c.Request.PostForm.Get("confirm") != "" {
		if h.csrf(c); c.IsAborted() {
			return
		}
	}
	h.endSession(c)
}

// registerOpenID adds the OpenID Provider's pages.
func (h *Handler) registerOpenID(r gin.IRouter) {
	r.GET(oauth.PathLogout, h.headers, h.session, h.endSession)
	r.POST(oauth.PathLogout, h.headers, h.session, h.endSessionPost)
}
