package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

// noStore marks a response as holding credentials (RFC 6749 §5.1).
func noStore(c *gin.Context) {
	h := c.Writer.Header()
	h["Cache-Control"] = noStoreCache
	h["Pragma"] = noCache
}

// writeOAuthError answers an RFC 6749 §5.2 error, with the challenge the
// error names (oauth.Error.Challenge): Basic on a 401 invalid_client, as
// §5.2 asks (DOT's Bearer is wrong there), Bearer on an error about the
// caller's own Bearer token (RFC 6750 §3).
func (h *handlers) writeOAuthError(c *gin.Context, e *oauth.Error) {
	noStore(c)
	if ch := e.Challenge(); ch != "" {
		c.Header("WWW-Authenticate", ch)
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(throttle.Seconds(e.RetryAfter)))
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
func oauthForm(c *gin.Context) *oauth.Error {
	const form = "application/x-www-form-urlencoded"
	ct := c.GetHeader("Content-Type")
	if ct != form { // the usual header, exactly: no parameters to parse
		ct, _, _ = mime.ParseMediaType(ct)
	}
	if ct != form {
		c.Request.PostForm = map[string][]string{}
		return nil
	}
	if err := c.Request.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &oauth.Error{Code: oauth.CodeInvalidRequest, Description: "Request body too large.", Status: http.StatusRequestEntityTooLarge}
		}
		return oauth.ErrInvalidRequest("Malformed form body.")
	}
	return nil
}

// oauthRequest reads an OAuth endpoint's form body and client credentials,
// answering the error itself when either is bad (ok is false then).
func (h *handlers) oauthRequest(c *gin.Context) (oauth.Credentials, bool) {
	e := oauthForm(c)
	var cr oauth.Credentials
	if e == nil {
		cr, e = oauth.ParseCredentials(c.GetHeader("Authorization"), c.Request.PostForm)
	}
	if e != nil {
		h.writeOAuthError(c, e)
		return oauth.Credentials{}, false
	}
	return cr, true
}

// writeOAuth answers a successful OAuth call, or its error.
func (h *handlers) writeOAuth(c *gin.Context, body any, e *oauth.Error) {
	if e != nil {
		h.writeOAuthError(c, e)
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, body)
}

func (h *handlers) token(c *gin.Context) {
	cr, ok := h.oauthRequest(c)
	if !ok {
		return
	}
	resp, e := h.d.OAuth.Token(c.Request.Context(), oauth.TokenRequest{Form: c.Request.PostForm, Credentials: cr, ClientIP: c.ClientIP()})
	h.writeOAuth(c, resp, e)
}

func (h *handlers) introspect(c *gin.Context) {
	cr, ok := h.oauthRequest(c)
	if !ok {
		return
	}
	args := c.Request.PostForm
	if c.Request.Method == http.MethodGet {
		args = c.Request.URL.Query()
	}
	resp, e := h.d.OAuth.Introspect(c.Request.Context(), oauth.IntrospectRequest{
		Token: args.Get("token"), TokenTypeHint: args.Get("token_type_hint"), Credentials: cr,
		Bearer: oauth.BearerToken(c.GetHeader("Authorization")),
	})
	h.writeOAuth(c, resp, e)
}

func (h *handlers) revoke(c *gin.Context) {
	cr, ok := h.oauthRequest(c)
	if !ok {
		return
	}
	if e := h.d.OAuth.Revoke(c.Request.Context(), oauth.RevokeRequest{Form: c.Request.PostForm, Credentials: cr}); e != nil {
		h.writeOAuthError(c, e)
		return
	}
	// RFC 7009 §2.2: 200 with no body.
	c.Status(http.StatusOK)
}

func (h *handlers) metadata(c *gin.Context) {
	// The issuer comes from configuration, never from the Host header, so
	// that a forged Host cannot poison a cached metadata document.
	c.JSON(http.StatusOK, h.d.OAuth.Metadata(strings.TrimRight(h.d.Issuer, "/")))
}
