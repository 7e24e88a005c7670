package httpapi

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
)

// deviceAuthorization is POST /o/device_authorization/ (RFC 8628 §3.1).
func (h *handlers) deviceAuthorization(c *gin.Context) {
	cr, ok := h.oauthRequest(c)
	if !ok {
		return
	}
	resp, e := h.d.OAuth.DeviceAuthorize(c.Request.Context(), oauth.TokenRequest{Form: c.Request.PostForm, Credentials: cr, ClientIP: c.ClientIP()},
		strings.TrimRight(h.d.Issuer, "/"))
	h.writeOAuth(c, resp, e)
}

// registerDevice adds the device authorization endpoint.
func (h *handlers) registerDevice(r gin.IRouter) {
	r.POST(oauth.PathDeviceAuthorization, h.deviceAuthorization)
}
