package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

const (
	defaultNext = "/o/applications/"
	// msgBadLogin is Django's, for unknown email, wrong password and
	// inactive account alike.
	msgBadLogin = "Please enter a correct email and password. Note that both fields may be case-sensitive."
)

// loginFormAction lets the login form's redirect chain reach the client
// when next is an authorization request that would redirect straight on.
func (h *Handler) loginFormAction(c *gin.Context, next string) []string {
	u, err := url.Parse(next)
	if err != nil || u.Path != "/o/authorize/" {
		return nil
	}
	a, aerr := h.d.OAuth.ParseAuthorize(c.Request.Context(), u.Query())
	if aerr != nil {
		if aerr.Redirect(true) != "" { // after this login, the user is signed in
			if o := redirectOrigin(aerr.RedirectURI); o != "" {
				return []string{o}
			}
		}
		return nil
	}
	if o := redirectOrigin(a.RedirectURI); o != "" {
		return []string{o}
	}
	return nil
}

func (h *Handler) loginPage(c *gin.Context) {
	next := SafeNext(c.Query("next"))
	// login_hint (OpenID Connect) fills in the email.
	if _, ok := currentUser(c); ok && c.Query("reauth") == "" {
		// Signed in already: go where the login would have led (unless an
		// OpenID Connect request asks for a fresh sign-in: reauth).
		if next == "" {
			next = defaultNext
		}
		c.Redirect(http.StatusFound, next)
		return
	}
	h.render(c, http.StatusOK, "login", gin.H{"Title": "Log in", "Next": next, "Reset": h.d.Mail != nil,
		"Email": c.Query("login_hint")}, h.loginFormAction(c, next)...)
}

func (h *Handler) login(c *gin.Context) {
	ctx := c.Request.Context()
	f := c.Request.PostForm
	email, password, next := f.Get("username"), f.Get("password"), SafeNext(f.Get("next"))
	fail := func(status int, msg string) {
		h.render(c, status, "login", gin.H{"Title": "Log in", "Next": next, "Email": email, "Error": msg, "Reset": h.d.Mail != nil}, h.loginFormAction(c, next)...)
	}
	if email == "" || password == "" {
		fail(http.StatusBadRequest, msgBadLogin)
		return
	}
	// A browser that signed in to this account before counts on its own
	// device counter; any other on the account's and its address's.
	keys := throttle.LoginKeys(email, c.ClientIP())
	if nonce := h.knownDevice(c, email); nonce != "" {
		keys = throttle.DeviceKey(nonce)
	}
	attempt, retry, err := h.d.Throttle.Begin(ctx, keys...)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if retry > 0 {
		c.Header("Retry-After", strconv.Itoa(throttle.Seconds(retry)))
		fail(http.StatusTooManyRequests, "Too many failed login attempts. Try again later.")
		return
	}
	u, err := h.d.Accounts.Login(ctx, email, password)
	if errors.Is(err, accounts.ErrInvalidCredentials) {
		fail(http.StatusOK, msgBadLogin)
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	_ = attempt.Succeeded(ctx)
	// A new session id at every login: an id planted before login
	// (fixation) is worth nothing after it.
	if old, ok := c.Get(keySID); ok {
		_ = h.d.Sessions.Delete(ctx, old.(string))
	}
	sid, _, err := h.d.Sessions.Create(ctx, u.ID, h.passwordMark(u))
	if err != nil {
		h.unavailable(c, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: sid, Path: "/", HttpOnly: true,
		Secure: h.d.SecureCookies, SameSite: http.SameSiteLaxMode})
	h.rememberDevice(c, email)
	if next == "" {
		next = defaultNext
	}
	c.Redirect(http.StatusSeeOther, next)
}

func (h *Handler) logout(c *gin.Context) {
	if err := h.signOut(c); err != nil {
		h.unavailable(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/logout/")
}

// logoutPage is GET /logout/: signed in, a button that logs out (a GET
// never changes state); signed out, the page that says so, where the
// logout lands (Django's logged_out.html).
func (h *Handler) logoutPage(c *gin.Context) {
	if u, ok := currentUser(c); ok {
		h.render(c, http.StatusOK, "logout", gin.H{"Title": "Log out", "Email": u.Email})
		return
	}
	h.render(c, http.StatusOK, "message", gin.H{"Title": "Logged out", "Text": "You have been logged out.",
		"Link": "/login/", "LinkText": "Log in again"})
}
