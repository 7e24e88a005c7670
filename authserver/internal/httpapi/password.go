package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/lifecycle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

// bearers is what the /users/ endpoints need to know who holds a token,
// and to end the user's other tokens (lifecycle.Service).
type bearers interface {
	Bearer(ctx context.Context, token string) (lifecycle.Bearer, error)
	PasswordChanged(ctx context.Context, by lifecycle.Bearer) error
}

var _ bearers = (*lifecycle.Service)(nil)

const realm = `Bearer realm="api"`

// bearerUser authenticates the request's Bearer token, answering 401 in
// DRF's shape (with RFC 6750's WWW-Authenticate) or 403 for a token that has
// no user. ok is false when an answer was written.
func (h *handlers) bearerUser(c *gin.Context) (accounts.User, lifecycle.Bearer, bool) {
	authz := c.GetHeader("Authorization")
	if authz == "" {
		c.Header("WWW-Authenticate", realm)
		c.JSON(http.StatusUnauthorized, gin.H{"detail": "Authentication credentials were not provided."})
		return accounts.User{}, lifecycle.Bearer{}, false
	}
	tok := oauth.BearerToken(authz)
	invalid := func() {
		c.Header("WWW-Authenticate", realm+`, error="invalid_token", error_description="The access token is invalid."`)
		c.JSON(http.StatusUnauthorized, gin.H{"detail": "Authentication credentials were not provided."})
	}
	if tok == "" {
		invalid()
		return accounts.User{}, lifecycle.Bearer{}, false
	}
	rec, err := h.d.Lifecycle.Bearer(c.Request.Context(), tok)
	if errors.Is(err, lifecycle.ErrUnavailable) {
		h.unavailable(c, err)
		return accounts.User{}, lifecycle.Bearer{}, false
	}
	if err != nil {
		invalid()
		return accounts.User{}, lifecycle.Bearer{}, false
	}
	if rec.UserID == 0 {
		c.JSON(http.StatusForbidden, gin.H{"detail": "You do not have permission to perform this action."})
		return accounts.User{}, lifecycle.Bearer{}, false
	}
	u, err := h.d.Accounts.Store().ByID(c.Request.Context(), rec.UserID)
	if errors.Is(err, accounts.ErrNotFound) || err == nil && !u.IsActive {
		invalid()
		return accounts.User{}, lifecycle.Bearer{}, false
	}
	if err != nil {
		h.unavailable(c, err)
		return accounts.User{}, lifecycle.Bearer{}, false
	}
	return u, rec, true
}

// changePassword is PUT/PATCH /users/password/: 200 {} on success, after
// which every other token of the user is revoked (the one used here, and
// its refresh token, stay valid).
func (h *handlers) changePassword(c *gin.Context) {
	u, rec, ok := h.bearerUser(c)
	if !ok {
		return
	}
	f, fe, err := readFields(c, "old_password", "password", "password2")
	if writeBodyError(c, err) {
		return
	}
	if len(fe) > 0 {
		c.JSON(http.StatusBadRequest, fe)
		return
	}
	in := accounts.PasswordChangeInput{OldPassword: f["old_password"], Password: f["password"], Password2: f["password2"]}
	// old_password is a password guess like any login: it is throttled
	// with the same counters, and given back when it was right.
	attempt, retry, err := h.d.Throttle.Begin(c.Request.Context(), throttle.LoginKeys(u.EmailKey, c.ClientIP())...)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if retry > 0 {
		secs := throttle.Seconds(retry)
		c.Header("Retry-After", strconv.Itoa(secs))
		c.JSON(http.StatusTooManyRequests, gin.H{"detail": "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds."})
		return
	}
	err = h.d.Accounts.ChangePassword(c.Request.Context(), u, in)
	var ferr accounts.FieldErrors
	if !errors.As(err, &ferr) || len(ferr["old_password"]) == 0 {
		_ = attempt.Succeeded(c.Request.Context())
	}
	if h.writeAccountError(c, err) {
		return
	}
	// The password has changed: finish the revocation even if the client
	// goes away now.
	if err := h.d.Lifecycle.PasswordChanged(context.WithoutCancel(c.Request.Context()), rec); err != nil {
		h.unavailable(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

func (h *handlers) unavailable(c *gin.Context, err error) {
	if database.IsInvalidText(err) { // the request's text, not an outage
		c.JSON(http.StatusBadRequest, gin.H{"detail": "The request contains a NUL byte or invalid UTF-8."})
		return
	}
	h.d.Log.ErrorContext(c.Request.Context(), "dependency unavailable", "request_id", RequestIDFromContext(c.Request.Context()), "error", err)
	c.Header("Retry-After", "5")
	c.JSON(http.StatusServiceUnavailable, gin.H{"detail": "Service temporarily unavailable, try again later."})
}
