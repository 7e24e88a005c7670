package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
)

// noStore marks a response as holding credentials (RFC 6749 §5.1).
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

// writeOAuthError answers an RFC 6749 §5.2 error. A 401 invalid_client
// carries WWW-Authenticate: Basic, as §5.2 asks (DOT's Bearer is wrong).
func (h *handlers) writeOAuthError(c *gin.Context, e *oauth.Error) {
	noStore(c)
	if e.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="portcullis"`)
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1_000_000_000)))
	}
	if e.Status >= 500 {
		h.d.Log.ErrorContext(c.Request.Context(), "oauth request failed", "request_id", RequestIDFromContext(c.Request.Context()),
			"path", c.Request.URL.Path, "error", e)
	}
	c.JSON(e.Status, e.Wire())
}

// oauthForm parses an OAuth endpoint's body, which is read only as
// application/x-www-form-urlencoded (RFC 6749 §3.2); any other body counts
// as empty, as in DOT. The query string is never read for credentials.
func oauthForm(c *gin.Context) (bool, *oauth.Error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		c.Request.PostForm = map[string][]string{}
		return true, nil
	}
	if err := c.Request.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return false, &oauth.Error{Code: oauth.CodeInvalidRequest, Description: "Request body too large.", Status: http.StatusRequestEntityTooLarge}
		}
		return false, oauth.ErrInvalidRequest("Malformed form body.")
	}
	return true, nil
}

func (h *handlers) token(c *gin.Context) {
	if ok, e := oauthForm(c); !ok {
		h.writeOAuthError(c, e)
		return
	}
	cr, e := oauth.ParseCredentials(c.GetHeader("Authorization"), c.Request.PostForm)
	if e != nil {
		h.writeOAuthError(c, e)
		return
	}
	resp, e := h.d.OAuth.Token(c.Request.Context(), oauth.TokenRequest{Form: c.Request.PostForm, Credentials: cr, ClientIP: c.ClientIP()})
	if e != nil {
		h.writeOAuthError(c, e)
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, resp)
}

func (h *handlers) introspect(c *gin.Context) {
	if ok, e := oauthForm(c); !ok {
		h.writeOAuthError(c, e)
		return
	}
	form := c.Request.PostForm
	tok, hint := form.Get("token"), form.Get("token_type_hint")
	if c.Request.Method == http.MethodGet {
		q := c.Request.URL.Query()
		tok, hint = q.Get("token"), q.Get("token_type_hint")
	}
	authz := c.GetHeader("Authorization")
	cr, e := oauth.ParseCredentials(authz, form)
	if e != nil {
		h.writeOAuthError(c, e)
		return
	}
	resp, e := h.d.OAuth.Introspect(c.Request.Context(), oauth.IntrospectRequest{
		Token: tok, TokenTypeHint: hint, Credentials: cr, Bearer: oauth.BearerToken(authz),
	})
	if e != nil {
		h.writeOAuthError(c, e)
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, resp)
}

func (h *handlers) revoke(c *gin.Context) {
	if ok, e := oauthForm(c); !ok {
		h.writeOAuthError(c, e)
		return
	}
	cr, e := oauth.ParseCredentials(c.GetHeader("Authorization"), c.Request.PostForm)
	if e != nil {
		h.writeOAuthError(c, e)
		return
	}
	if e := h.d.OAuth.Revoke(c.Request.Context(), oauth.RevokeRequest{Form: c.Request.PostForm, Credentials: cr}); e != nil {
		h.writeOAuthError(c, e)
		return
	}
	c.Status(http.StatusOK)
}

func (h *handlers) metadata(c *gin.Context) {
	// The issuer comes from configuration, never from the Host header, so
	// that a forged Host cannot poison a cached metadata document.
	c.JSON(http.StatusOK, h.d.OAuth.Metadata(strings.TrimRight(h.d.Issuer, "/")))
}
