package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

// passwordFormErrors maps the accounts package's field names to Django's
// password change form's.
func passwordFormErrors(err error) formErrors {
	var fe accounts.FieldErrors
	if !errors.As(err, &fe) {
		return nil
	}
	names := map[string]string{"password": "new_password1", "password2": "new_password2"}
	out := formErrors{}
	for k, msgs := range fe {
		if n, ok := names[k]; ok {
			k = n
		}
		for _, m := range msgs {
			out.add(k, m)
		}
	}
	return out
}

// accountPassword is the signed-in user's own password change (Django's
// PasswordChangeView). The old password is a guess like a login's and is
// throttled with the same counters. A new password revokes every token of
// the user; this browser stays signed in with a new session, and every
// other session ends.
func (h *Handler) accountPassword(c *gin.Context) {
	u, ok := h.requireUser(c)
	if !ok {
		return
	}
	show := func(status int, errs formErrors) {
		h.render(c, status, "account_password", gin.H{"Title": "Password change", "Errors": errs})
	}
	if c.Request.Method == http.MethodGet {
		show(http.StatusOK, formErrors{})
		return
	}
	ctx := c.Request.Context()
	f := c.Request.PostForm
	attempt, retry, err := h.d.Throttle.Begin(ctx, throttle.LoginKeys(u.EmailKey, c.ClientIP())...)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if retry > 0 {
		c.Header("Retry-After", strconv.Itoa(throttle.Seconds(retry)))
		show(http.StatusTooManyRequests, formErrors{nonField: {"Too many failed attempts. Try again later."}})
		return
	}
	field := func(k string) accounts.Field { return accounts.Field{Value: f.Get(k), Set: true} }
	err = h.d.Accounts.ChangePassword(ctx, u, accounts.PasswordChangeInput{OldPassword: field("old_password"),
		Password: field("new_password1"), Password2: field("new_password2")})
	var fe accounts.FieldErrors
	if !errors.As(err, &fe) || len(fe["old_password"]) == 0 {
		_ = attempt.Succeeded(ctx)
	}
	if errs := passwordFormErrors(accounts.WithMismatch(err, f.Get("new_password1"), f.Get("new_password2"))); errs != nil {
		show(http.StatusBadRequest, errs)
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if err := h.d.Lifecycle.PasswordChangedInBrowser(background(c), u.ID); err != nil {
		h.unavailable(c, err)
		return
	}
	if !h.renewSession(c, u.ID) {
		return
	}
	h.flash(c, "Your password was changed. Every token issued for your account has been revoked.")
	c.Redirect(http.StatusSeeOther, "/account/password/")
}

// renewSession ends this browser's session and starts one for userID with
// the user's current password, as login does; false when it answered.
func (h *Handler) renewSession(c *gin.Context, userID int64) bool {
	ctx := c.Request.Context()
	u, err := h.d.Accounts.Store().ByID(ctx, userID)
	if err != nil {
		h.unavailable(c, err)
		return false
	}
	if old, ok := c.Get(keySID); ok {
		_ = h.d.Sessions.Delete(ctx, old.(string))
	}
	sid, sess, err := h.d.Sessions.Create(ctx, u.ID, h.passwordMark(u))
	if err != nil {
		h.unavailable(c, err)
		return false
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: sid, Path: "/", HttpOnly: true,
		Secure: h.d.SecureCookies, SameSite: http.SameSiteLaxMode})
	c.Set(keySID, sid)
	c.Set(keySession, sess)
	c.Set(keyUser, u)
	return true
}
