package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/device"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/sessions"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

// Cookie names.
const (
	SessionCookie = "pc_session"
	csrfCookie    = "pc_csrf"
	csrfField     = "csrfmiddlewaretoken" // Django's name
)

// Deps are what the pages call.
type Deps struct {
	Accounts *accounts.Service
	Clients  *clients.Registry
	OAuth    *oauth.Server
	// Lifecycle ends tokens after an account or client change.
	Lifecycle lifecycle
	// Device serves the verification page of the device grant; nil
	// leaves it out.
	Device *device.Store
	// Keys lists the OpenID Connect signing keys in the admin (read-only);
	// nil leaves the page out.
	Keys *signing.Keyring
	// Counter counts live grants for the admin (tokens.Store).
	Counter TokenCounter
	// Audit is the admin's history (audit.Log).
	Audit AuditLog
	// Mail sends password reset links; Resets keeps their tokens; BaseURL
	// (ISSUER_URL) starts the links.
	Mail     Mailer
	Resets   ResetStore
	BaseURL  string
	Sessions *sessions.Store
	Throttle *throttle.Limiter
	// Key (at least 32 bytes, the same on every replica) signs the
	// pre-login CSRF cookie and the generated-secret mark.
	Key []byte
	// SecureCookies sets the Secure attribute (SESSION_COOKIE_SECURE).
	SecureCookies bool
	// ScopeNames are the scopes' descriptions shown on the consent page.
	ScopeNames map[string]string
	Log        *slog.Logger
}

// lifecycle ends the tokens an account or client change takes away
// (lifecycle.Service); each is called after the change is committed.
type lifecycle interface {
	UserDeactivated(ctx context.Context, userID int64) error
	PasswordReset(ctx context.Context, userID int64) error
	ClientDeleted(ctx context.Context, clientID string) error
	ClientChanged(ctx context.Context, before, after clients.Client) error
	ApplicationRevoked(ctx context.Context, userID int64, clientID string) error
	UserRevoked(ctx context.Context, userID int64) error
	ClientRevoked(ctx context.Context, clientID string) error
	PasswordChangedInBrowser(ctx context.Context, userID int64) error
}

// Handler serves the pages. Safe for concurrent use.
type Handler struct {
	d     Deps
	pages map[string]*template.Template
	cop   *http.CrossOriginProtection
}

// New parses the templates. Errors: a bad template or a short Key.
func New(d Deps) (*Handler, error) {
	if len(d.Key) < 32 {
		return nil, errors.New("web: key must be at least 32 bytes")
	}
	if d.ScopeNames == nil {
		d.ScopeNames = DefaultScopeNames
	}
	h := &Handler{d: d, pages: map[string]*template.Template{}, cop: http.NewCrossOriginProtection()}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		h.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return h, nil
}

// DefaultScopeNames are the tutorial's OAUTH2_PROVIDER SCOPES.
var DefaultScopeNames = map[string]string{"read": "Read scope", "write": "Write scope", "introspection": "Introspect token scope",
	"openid": "Sign you in with your account", "email": "See your email address"}

// Register adds the pages' routes to r.
func (h *Handler) Register(r gin.IRouter) {
	for path, file := range map[string]struct{ name, typ string }{
		"/static/portcullis.css": {"static/portcullis.css", "text/css; charset=utf-8"},
		"/static/copy.js":        {"static/copy.js", "text/javascript; charset=utf-8"},
		"/favicon.ico":           {"static/favicon.png", "image/png"},
	} {
		b, err := staticFS.ReadFile(file.name)
		if err != nil {
			panic("web: " + err.Error()) // embedded: cannot happen
		}
		r.GET(path, func(c *gin.Context) {
			c.Header("Cache-Control", "public, max-age=3600")
			c.Header("X-Content-Type-Options", "nosniff")
			c.Data(http.StatusOK, file.typ, b)
		})
	}
	g := r.Group("", h.headers, h.session, h.csrf)
	g.GET("/", h.home)
	g.GET("/login/", h.loginPage)
	g.POST("/login/", h.login)
	g.GET("/logout/", h.logoutPage)
	g.POST("/logout/", h.logout)
	g.GET("/password_reset/", h.resetRequest)
	g.POST("/password_reset/", h.resetRequest)
	g.GET("/password_reset/done/", h.resetDone)
	g.GET("/password_reset/confirm/", h.resetConfirm)
	g.POST("/password_reset/confirm/", h.resetConfirm)
	g.GET("/password_reset/complete/", h.resetComplete)
	g.GET("/account/password/", h.accountPassword)
	g.POST("/account/password/", h.accountPassword)
	g.GET("/o/authorize/", h.authorize)
	g.POST("/o/authorize/", h.authorizePost)
	if h.d.OAuth.OpenIDEnabled() {
		h.registerOpenID(r)
	}
	if h.d.Device != nil {
		g.GET(oauth.PathDevice, h.devicePage)
		g.POST(oauth.PathDevice, h.deviceSubmit)
	}

	g.GET("/o/applications/", h.appList)
	g.GET("/o/applications/register/", h.appRegister)
	g.POST("/o/applications/register/", h.appRegister)
	g.GET("/o/applications/:id/", h.appDetail)
	g.GET("/o/applications/:id/update/", h.appUpdate)
	g.POST("/o/applications/:id/update/", h.appUpdate)
	g.GET("/o/applications/:id/delete/", h.appDelete)
	g.POST("/o/applications/:id/delete/", h.appDelete)
	g.GET("/o/authorized_tokens/", h.grantList)
	g.GET("/o/authorized_tokens/:id/delete/", h.grantDelete)
	g.POST("/o/authorized_tokens/:id/delete/", h.grantDelete)

	a := g.Group("/admin", h.requireStaff)
	a.GET("/", h.adminIndex)
	if h.d.Keys != nil {
		a.GET("/keys/", h.adminKeys)
	}
	a.GET("/users/", h.adminUsers)
	a.GET("/users/add/", h.adminUserAdd)
	a.POST("/users/add/", h.adminUserAdd)
	a.GET("/users/:id/", h.adminUserChange)
	a.POST("/users/:id/", h.adminUserChange)
	a.POST("/users/bulk/", h.adminUsersBulk)
	a.GET("/users/:id/history/", h.adminUserHistory)
	a.GET("/users/:id/revoke/", h.adminUserRevoke)
	a.POST("/users/:id/revoke/", h.adminUserRevoke)
	a.GET("/history/", h.adminHistory)
	a.GET("/groups/", h.adminGroups)
	a.GET("/groups/add/", h.adminGroupEdit)
	a.POST("/groups/add/", h.adminGroupEdit)
	a.GET("/groups/:id/", h.adminGroupEdit)
	a.POST("/groups/:id/", h.adminGroupEdit)
	a.GET("/groups/:id/history/", h.adminGroupHistory)
	a.GET("/groups/:id/delete/", h.adminGroupDelete)
	a.POST("/groups/:id/delete/", h.adminGroupDelete)
	a.GET("/applications/", h.adminApps)
	a.GET("/applications/:id/", h.adminAppEdit)
	a.POST("/applications/:id/", h.adminAppEdit)
	a.GET("/applications/:id/history/", h.adminAppHistory)
	a.GET("/applications/:id/revoke/", h.adminAppRevoke)
	a.POST("/applications/:id/revoke/", h.adminAppRevoke)
	a.GET("/applications/:id/delete/", h.adminAppDelete)
	a.POST("/applications/:id/delete/", h.adminAppDelete)
}

// csp is the policy of every page; formAction adds the origins a form on
// the page may end up at (the client's redirect URI after consent: CSP
// form-action also governs the redirects that follow a submission). No
// page runs a script but the secret page, which loads one file of ours
// (scriptCSP); nothing inline runs anywhere.
func csp(formAction ...string) string {
	fa := "'self'"
	for _, o := range formAction {
		fa += " " + o
	}
	return "default-src 'none'; style-src 'self'; img-src 'self'; form-action " + fa + "; frame-ancestors 'none'; base-uri 'none'"
}

// scriptCSP is csp() for a page that loads a script from /static/.
func scriptCSP() string { return csp() + "; script-src 'self'" }

func (h *Handler) headers(c *gin.Context) {
	setPageHeaders(c)
	c.Next()
}

// NotFound is the HTML 404 of a browser path that has no route.
func (h *Handler) NotFound(c *gin.Context) {
	setPageHeaders(c)
	h.notFound(c)
}

func setPageHeaders(c *gin.Context) {
	hd := c.Writer.Header()
	hd.Set("Content-Security-Policy", csp())
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
}

// sanePolicySource matches an origin or scheme that can go in a CSP
// source list unchanged.
var sanePolicySource = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:(//[A-Za-z0-9.\-\[\]:]+)?$`)

// redirectOrigin is the CSP source of a registered redirect URI, "" when
// it cannot be expressed safely.
func redirectOrigin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return ""
	}
	src := strings.ToLower(u.Scheme) + ":"
	if u.Host != "" {
		src += "//" + u.Host
	}
	if !sanePolicySource.MatchString(src) {
		return ""
	}
	return src
}

// ctx keys in gin.Context.
const (
	keyUser    = "web.user"
	keySession = "web.session"
	keySID     = "web.sid"
)

func currentUser(c *gin.Context) (accounts.User, bool) {
	u, ok := c.Get(keyUser)
	if !ok {
		return accounts.User{}, false
	}
	return u.(accounts.User), true
}

// session loads the signed-in user, if any. A session of a deactivated or
// deleted user, or one made before the user's password changed, counts as
// none (and is deleted).
func (h *Handler) session(c *gin.Context) {
	ck, err := c.Cookie(SessionCookie)
	if err != nil || ck == "" {
		c.Next()
		return
	}
	ctx := c.Request.Context()
	sess, err := h.d.Sessions.Get(ctx, ck)
	if errors.Is(err, sessions.ErrNotFound) {
		c.Next()
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	u, err := h.sessionUser(ctx, sess)
	if errors.Is(err, errSignedOut) {
		_ = h.d.Sessions.Delete(ctx, ck)
		c.Next()
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	c.Set(keyUser, u)
	c.Set(keySession, sess)
	c.Set(keySID, ck)
	c.Next()
}

// errSignedOut: the session's user is gone, inactive, or changed password.
var errSignedOut = errors.New("web: session no longer valid")

// sessionUser reads sess's user from the database. Errors: errSignedOut
// when the user is deleted or deactivated, or its password changed since
// the session was made; any other is the database's.
func (h *Handler) sessionUser(ctx context.Context, sess sessions.Session) (accounts.User, error) {
	u, err := h.d.Accounts.Store().ByID(ctx, sess.UserID)
	if errors.Is(err, accounts.ErrNotFound) || err == nil && (!u.IsActive || !hmac.Equal([]byte(sess.Mark), []byte(h.passwordMark(u)))) {
		return accounts.User{}, errSignedOut
	}
	return u, err
}

// passwordMark names the user's current password hash without holding it:
// a session made before a password change no longer matches.
func (h *Handler) passwordMark(u accounts.User) string { return h.mac("session-password", u.Password) }

// mac is HMAC-SHA-256 under the handler's key, base64url.
func (h *Handler) mac(purpose, v string) string {
	m := hmac.New(sha256.New, h.d.Key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken is the token the page's forms carry: the session's, or before
// login one derived from the pre-login cookie (set here when missing).
func (h *Handler) csrfToken(c *gin.Context) string {
	if s, ok := c.Get(keySession); ok {
		return s.(sessions.Session).CSRF
	}
	ck, err := c.Cookie(csrfCookie)
	if err != nil || len(ck) != 43 {
		ck = sessions.Random(32)
		http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Value: ck, Path: "/", HttpOnly: true,
			Secure: h.d.SecureCookies, SameSite: http.SameSiteLaxMode})
	}
	return h.mac("csrf", ck)
}

// csrf refuses a state-changing request that comes from another origin
// (Sec-Fetch-Site / Origin, net/http's CrossOriginProtection) or does not
// carry the page's token.
func (h *Handler) csrf(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if err := h.cop.Check(c.Request); err != nil {
		h.forbidden(c, "Cross-origin request refused.")
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		h.message(c, http.StatusBadRequest, "Bad request", "The form could not be read.")
		c.Abort()
		return
	}
	got := c.Request.PostForm.Get(csrfField)
	var want string
	if s, ok := c.Get(keySession); ok {
		want = s.(sessions.Session).CSRF
	} else if ck, err := c.Cookie(csrfCookie); err == nil && len(ck) == 43 {
		want = h.mac("csrf", ck)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		h.forbidden(c, "CSRF verification failed. Request aborted.")
		return
	}
	c.Next()
}

// render writes page name with data; the layout gets the user and the
// CSRF token.
func (h *Handler) render(c *gin.Context, status int, name string, data gin.H, formAction ...string) {
	if data == nil {
		data = gin.H{}
	}
	if u, ok := currentUser(c); ok {
		data["User"] = u
	}
	data["CSRF"] = h.csrfToken(c)
	data["CSRFField"] = csrfField
	data["Flash"] = h.takeFlash(c)
	if _, ok := data["Script"]; ok {
		c.Header("Content-Security-Policy", scriptCSP())
	}
	if len(formAction) > 0 {
		c.Header("Content-Security-Policy", csp(formAction...))
	}
	t, ok := h.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := t.ExecuteTemplate(c.Writer, "layout", data); err != nil {
		h.d.Log.ErrorContext(c.Request.Context(), "template failed", "page", name, "error", err)
	}
}

func (h *Handler) message(c *gin.Context, status int, title, text string) {
	h.render(c, status, "message", gin.H{"Title": title, "Text": text})
}

func (h *Handler) forbidden(c *gin.Context, text string) {
	h.message(c, http.StatusForbidden, "Forbidden (403)", text)
	c.Abort()
}

func (h *Handler) notFound(c *gin.Context) {
	h.message(c, http.StatusNotFound, "Not found", "The page you asked for does not exist, or no longer does.")
}

func (h *Handler) unavailable(c *gin.Context, err error) {
	if database.IsInvalidText(err) { // the request's text, not an outage
		h.message(c, http.StatusBadRequest, "Bad request", "The form contains a NUL byte or invalid UTF-8.")
		c.Abort()
		return
	}
	h.d.Log.ErrorContext(c.Request.Context(), "page failed", "path", c.Request.URL.Path, "error", err)
	c.Header("Retry-After", "5")
	h.message(c, http.StatusServiceUnavailable, "Service unavailable", "The server is temporarily unable to handle the request. Try again shortly.")
	c.Abort()
}

// requireUser returns the signed-in user, or redirects to the login page
// and returns false.
func (h *Handler) requireUser(c *gin.Context) (accounts.User, bool) {
	u, ok := currentUser(c)
	if !ok {
		toLogin(c)
	}
	return u, ok
}

// toLogin redirects to the login page, which comes back here after.
func toLogin(c *gin.Context) {
	next := c.Request.URL.RequestURI()
	if c.Request.Method != http.MethodGet {
		next = c.Request.URL.Path
	}
	c.Redirect(http.StatusFound, "/login/?next="+url.QueryEscape(next))
	c.Abort()
}

func (h *Handler) requireStaff(c *gin.Context) {
	u, ok := h.requireUser(c)
	if !ok {
		return
	}
	if !u.IsStaff {
		h.forbidden(c, "You do not have permission to view the admin.")
		return
	}
	c.Next()
}

// SafeNext returns next when it is a path on this site, else "". It
// refuses absolute and scheme-relative URLs, backslashes (browsers read
// "/\evil" as "//evil") and control characters.
func SafeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return ""
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return ""
	}
	for i := 0; i < len(next); i++ {
		if next[i] < 0x20 || next[i] == 0x7f || next[i] == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

// background returns a context for work that must finish even if the
// browser goes away (revocations).
func background(c *gin.Context) context.Context { return context.WithoutCancel(c.Request.Context()) }
