package web

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/mail"
	"github.com/portcullis-oauth/portcullis/authserver/internal/resets"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

// Password reset by e-mail, as Django's PasswordResetView and its three
// companions, with OWASP's Forgot Password Cheat Sheet: the same answer
// and the same timing whether or not the address is known (the lookup and
// the mail happen after the answer), a single-use, expiring token kept
// only as a hash, throttled per address and per client IP, and the token
// in the query string only (the access log leaves queries out).

// Mailer sends one e-mail (mail.SMTP, or mail.Console without SMTP_URL).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// ResetStore keeps password reset tokens (resets.Store).
type ResetStore interface {
	Issue(ctx context.Context, g resets.Grant) (string, error)
	Peek(ctx context.Context, token string) (resets.Grant, error)
	Consume(ctx context.Context, token string) (resets.Grant, error)
	TTL() time.Duration
}

// resetKeys are the throttle's counters of reset requests, apart from the
// login's so that asking for links never locks anyone out of logging in.
func resetKeys(email, ip string) []string {
	return []string{"reset-acct:" + email, "reset-ip:" + ip}
}

// resetOff answers the reset pages of a server without mail, and reports
// whether it did.
func (h *Handler) resetOff(c *gin.Context) bool {
	if h.d.Mail != nil {
		return false
	}
	h.render(c, http.StatusNotFound, "message", gin.H{"Title": "Password reset is not available",
		"Text": "This server does not send e-mail, so it cannot reset passwords by e-mail. Ask an administrator to set a new password for you.",
		"Link": "/login/", "LinkText": "Back to the login page"})
	return true
}

func (h *Handler) resetRequest(c *gin.Context) {
	if h.resetOff(c) {
		return
	}
	show := func(status int, email string, errs formErrors) {
		h.render(c, status, "reset_request", gin.H{"Title": "Password reset", "Email": email, "Errors": errs})
	}
	if c.Request.Method == http.MethodGet {
		show(http.StatusOK, "", formErrors{})
		return
	}
	email := accounts.NormalizeEmail(c.Request.PostForm.Get("email"))
	if !accounts.ValidEmail(email) || len(email) > accounts.MaxEmailLength {
		show(http.StatusBadRequest, email, formErrors{"email": {accounts.MsgInvalidEmail}})
		return
	}
	ctx := c.Request.Context()
	// Every request counts: there is no "success" to give back.
	_, retry, err := h.d.Throttle.Begin(ctx, resetKeys(strings.ToLower(email), c.ClientIP())...)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if retry > 0 {
		c.Header("Retry-After", strconv.Itoa(throttle.Seconds(retry)))
		show(http.StatusTooManyRequests, email, formErrors{nonField: {"Too many password reset requests. Try again later."}})
		return
	}
	go h.sendReset(context.WithoutCancel(ctx), email)
	c.Redirect(http.StatusSeeOther, "/password_reset/done/")
}

// sendReset mails a reset link when email names an active user, and
// nothing otherwise; it runs after the answer, so that its work tells
// nothing. It never logs the token or the link.
func (h *Handler) sendReset(ctx context.Context, email string) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	u, err := h.d.Accounts.Store().ByEmail(ctx, email)
	if errors.Is(err, accounts.ErrNotFound) || err == nil && !u.IsActive {
		return
	}
	if err != nil {
		h.d.Log.ErrorContext(ctx, "password reset: user lookup failed", "error", err)
		return
	}
	tok, err := h.d.Resets.Issue(ctx, resets.Grant{UserID: u.ID, Mark: h.passwordMark(u)})
	if err != nil {
		h.d.Log.ErrorContext(ctx, "password reset: token not stored", "user_id", u.ID, "error", err)
		return
	}
	link := h.d.BaseURL + "/password_reset/confirm/?" + url.Values{"token": {tok}}.Encode()
	body := fmt.Sprintf(`You're receiving this e-mail because a password reset was asked for your account (%s) at %s.

Go to this page and choose a new password:

%s

The link works once, for %s. If you did not ask for it, ignore this e-mail: your password stays as it is.
`, u.Email, h.d.BaseURL, link, h.d.Resets.TTL())
	if err := h.d.Mail.Send(ctx, mail.Message{To: u.Email, Subject: "Password reset on Portcullis", Body: body}); err != nil {
		h.d.Log.ErrorContext(ctx, "password reset: e-mail not sent", "user_id", u.ID, "error", err)
		return
	}
	h.d.Log.InfoContext(ctx, "password reset: e-mail sent", "user_id", u.ID)
}

func (h *Handler) resetDone(c *gin.Context) {
	h.render(c, http.StatusOK, "message", gin.H{"Title": "Password reset sent",
		"Text": "If an active account uses that address, we have e-mailed it a link to choose a new password; it should arrive shortly. If it does not, check the address you entered and your spam folder.",
		"Link": "/login/", "LinkText": "Back to the login page"})
}

// resetUser checks a token and returns its user; when the link is no good
// it shows the page that says so and returns false.
func (h *Handler) resetUser(c *gin.Context, g resets.Grant, err error) (accounts.User, bool) {
	ctx := c.Request.Context()
	if err == nil {
		var u accounts.User
		u, err = h.d.Accounts.Store().ByID(ctx, g.UserID)
		if err == nil && u.IsActive && hmac.Equal([]byte(g.Mark), []byte(h.passwordMark(u))) {
			return u, true
		}
		if err == nil || errors.Is(err, accounts.ErrNotFound) {
			err = resets.ErrNotFound // deactivated, or the password changed since
		}
	}
	if !errors.Is(err, resets.ErrNotFound) {
		h.unavailable(c, err)
		return accounts.User{}, false
	}
	h.render(c, http.StatusBadRequest, "message", gin.H{"Title": "Password reset unsuccessful",
		"Text": "The password reset link was invalid, possibly because it has already been used or has expired. Please request a new password reset.",
		"Link": "/password_reset/", "LinkText": "Request a new link"})
	return accounts.User{}, false
}

func (h *Handler) resetConfirm(c *gin.Context) {
	if h.resetOff(c) {
		return
	}
	ctx := c.Request.Context()
	token := c.Query("token")
	if c.Request.Method == http.MethodPost {
		token = c.Request.PostForm.Get("token")
	}
	g, err := h.d.Resets.Peek(ctx, token)
	u, ok := h.resetUser(c, g, err)
	if !ok {
		return
	}
	show := func(status int, errs formErrors) {
		h.render(c, status, "reset_confirm", gin.H{"Title": "Enter new password", "Token": token, "Email": u.Email, "Errors": errs})
	}
	if c.Request.Method == http.MethodGet {
		show(http.StatusOK, formErrors{})
		return
	}
	f := c.Request.PostForm
	p1, p2 := f.Get("new_password1"), f.Get("new_password2")
	if errs := passwordFormErrors(h.d.Accounts.ValidateAdminPassword(u, p1, p2)); errs != nil {
		show(http.StatusBadRequest, errs)
		return
	}
	// Single use: of two submissions racing, one consumes the token.
	g, err = h.d.Resets.Consume(ctx, token)
	if u, ok = h.resetUser(c, g, err); !ok {
		return
	}
	if err := h.d.Accounts.AdminSetPassword(ctx, u, p1, p2); err != nil {
		h.unavailable(c, err)
		return
	}
	// A reset is what someone does who lost control of the account:
	// every token ends, and every session ends at its next request (the
	// password mark changed).
	if err := h.d.Lifecycle.PasswordReset(background(c), u.ID); err != nil {
		h.unavailable(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/password_reset/complete/")
}

func (h *Handler) resetComplete(c *gin.Context) {
	h.render(c, http.StatusOK, "message", gin.H{"Title": "Password reset complete",
		"Text": "Your password has been set, and every token issued for your account was revoked. You may log in now.",
		"Link": "/login/", "LinkText": "Log in"})
}
