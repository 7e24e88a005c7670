package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/device"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

// msgBadUserCode is the one answer for a malformed, unknown, expired or
// already used user code.
const msgBadUserCode = "That code is not valid. Check it on your device and try again."

// deviceKeys are the throttle counters of user code guesses: the session
// first (a success resets it), then the address (RFC 8628 §5.1).
func deviceKeys(c *gin.Context) []string {
	sid, _ := c.Get(keySID)
	s, _ := sid.(string)
	return []string{"device:sess:" + s, "device:ip:" + c.ClientIP()}
}

// devicePage is GET /o/device/ (RFC 8628 §3.3): sign in, then type the
// code, or confirm the one that verification_uri_complete carried.
func (h *Handler) devicePage(c *gin.Context) {
	if _, ok := h.requireUser(c); !ok {
		return
	}
	h.render(c, http.StatusOK, "device", gin.H{"Title": "Connect a device", "UserCode": c.Query("user_code")})
}

// deviceSubmit is the code form's answer (show the request) and the
// consent form's (approve or deny). Every code read is a guess, throttled
// per session and per address.
func (h *Handler) deviceSubmit(c *gin.Context) {
	u, ok := h.requireUser(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	f := c.Request.PostForm
	typed := f.Get("user_code")
	attempt, retry, err := h.d.Throttle.Begin(ctx, deviceKeys(c)...)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if retry > 0 {
		c.Header("Retry-After", strconv.Itoa(throttle.Seconds(retry)))
		h.render(c, http.StatusTooManyRequests, "device", gin.H{"Title": "Connect a device", "UserCode": typed,
			"Error": "Too many attempts. Try again later."})
		return
	}
	code, valid := device.NormalizeUserCode(typed)
	var req device.Request
	if valid {
		req, err = h.d.Device.Lookup(ctx, code)
	}
	if !valid || errors.Is(err, device.ErrNotFound) {
		h.render(c, http.StatusBadRequest, "device", gin.H{"Title": "Connect a device", "UserCode": typed, "Error": msgBadUserCode})
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	_ = attempt.Succeeded(ctx)
	allow, deny := f.Get("allow") != "", f.Get("deny") != ""
	if !allow && !deny {
		cl, err := h.d.Clients.Get(ctx, req.ClientID)
		if err != nil {
			h.unavailable(c, err)
			return
		}
		h.render(c, http.StatusOK, "device_consent", gin.H{"Title": "Authorize " + cl.Name, "Client": cl,
			"Scopes": h.scopeLines(req.Scope), "UserCode": device.Display(code)})
		return
	}
	err = h.d.Device.Decide(ctx, code, allow, device.Approval{UserID: u.ID, Email: u.Email, AuthTime: authTime(c)})
	if errors.Is(err, device.ErrNotFound) {
		h.render(c, http.StatusBadRequest, "device", gin.H{"Title": "Connect a device", "Error": msgBadUserCode})
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	text := "Access denied. Your device will not be connected."
	if allow {
		text = "Your device is connected. You can return to it now."
	}
	h.render(c, http.StatusOK, "message", gin.H{"Title": "Connect a device", "Text": text})
}
