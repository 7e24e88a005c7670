package web

import (
	"crypto/hmac"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/sessions"
)

// Device cookies let an account's owner in while strangers' failures have
// the account locked: OWASP's "Slow down online guessing attacks with
// device cookies". A browser that has signed in to an account holds an
// entry binding it to that account; with it, its attempts at that account
// are counted on the entry's own counter (throttle.DeviceKey) instead of
// the account's and the address's, so only its own failures can stop it.
//
// An entry is "nonce.mac": 128 random bits, and the HMAC under the pages'
// Key (shared by every replica; see Deps.Key) of the account's
// accounts.EmailKey and the nonce. The cookie holds no email in clear, and
// an entry proves nothing for any other account. One cookie keeps the
// entries of the last few accounts signed in from the browser.
const (
	deviceCookie = "pc_device"
	// deviceCookiePath: only the login form needs it.
	deviceCookiePath = "/login"
	// deviceCookieMaxAge is how long a browser stays known to an account
	// after its last login there.
	deviceCookieMaxAge = 365 * 24 * time.Hour
	// deviceEntries is how many accounts one browser is known to.
	deviceEntries = 4
	nonceLen      = 22 // 16 bytes, base64url
	macLen        = 43 // 32 bytes, base64url
)

// deviceMAC binds nonce to the account named by email.
func (h *Handler) deviceMAC(email, nonce string) string {
	return h.mac("device", accounts.EmailKey(email)+"\x00"+nonce)
}

// deviceCookieEntries returns the well-formed entries of the request's device
// cookie, at most deviceEntries of them.
func deviceCookieEntries(c *gin.Context) []string {
	v, err := c.Cookie(deviceCookie)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range strings.Split(v, "~") {
		if len(e) == nonceLen+1+macLen && e[nonceLen] == '.' && len(out) < deviceEntries {
			out = append(out, e)
		}
	}
	return out
}

// knownDevice returns the nonce of the request's device entry for the
// account named by email, or "" when the browser has none (or a forged or
// foreign one).
func (h *Handler) knownDevice(c *gin.Context, email string) string {
	for _, e := range deviceCookieEntries(c) {
		nonce, mac := e[:nonceLen], e[nonceLen+1:]
		if hmac.Equal([]byte(mac), []byte(h.deviceMAC(email, nonce))) {
			return nonce
		}
	}
	return ""
}

// rememberDevice gives the browser a fresh entry for the account named by
// email, first in its cookie, in place of any entry it had for it.
func (h *Handler) rememberDevice(c *gin.Context, email string) {
	old := h.knownDevice(c, email)
	nonce := sessions.Random(16)
	entries := []string{nonce + "." + h.deviceMAC(email, nonce)}
	for _, e := range deviceCookieEntries(c) {
		if len(entries) == deviceEntries {
			break
		}
		if old == "" || e[:nonceLen] != old {
			entries = append(entries, e)
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: deviceCookie, Value: strings.Join(entries, "~"), Path: deviceCookiePath,
		MaxAge: int(deviceCookieMaxAge / time.Second), HttpOnly: true, Secure: h.d.SecureCookies, SameSite: http.SameSiteStrictMode})
}
