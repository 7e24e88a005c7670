package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
)

// keySet publishes the signing keys (signing.Keyring).
type keySet interface {
	JWKS(ctx context.Context) (jose.JSONWebKeySet, error)
}

// JWKSMaxAge is how long a JWKS answer may be cached. `keys rotate`
// publishes a new key well before it signs (--sign-after, 10m by default).
const JWKSMaxAge = 5 * time.Minute

// registerOpenID adds the OpenID Provider's routes: discovery at the
// issuer's well-known path and at DOT's, JWKS, and userinfo (GET and POST,
// OpenID Connect Core §5.3.1).
func (h *handlers) registerOpenID(r gin.IRouter) {
	r.GET("/.well-known/openid-configuration", h.discovery)
	r.GET(oauth.PathDiscovery, h.discovery)
	r.GET(oauth.PathJWKS, h.jwks)
	r.GET(oauth.PathUserInfo, h.userinfo)
	r.POST(oauth.PathUserInfo, h.userinfo)
}

func (h *handlers) discovery(c *gin.Context) {
	// Issuer and base come from configuration, never from Host.
	c.JSON(http.StatusOK, h.d.OAuth.Discovery(h.d.Issuer, h.d.OIDCIssuer))
}

func (h *handlers) jwks(c *gin.Context) {
	set, err := h.d.JWKS.JWKS(c.Request.Context())
	if err != nil {
		h.unavailable(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age="+strconv.Itoa(int(JWKSMaxAge.Seconds())))
	c.Header("Content-Type", "application/jwk-set+json")
	c.JSON(http.StatusOK, set)
}

// userinfo answers with the user's claims, or an RFC 6750 §3 error with
// its WWW-Authenticate challenge.
func (h *handlers) userinfo(c *gin.Context) {
	authz := c.GetHeader("Authorization")
	tok := oauth.BearerToken(authz)
	if authz != "" && tok == "" {
		tok = "-" // a malformed header is an invalid token, not a missing one
	}
	info, e := h.d.OAuth.UserInfo(c.Request.Context(), tok)
	switch {
	case e == nil:
		noStore(c)
		c.JSON(http.StatusOK, info)
	case e.Code == "": // no token: the challenge alone, no error code
		noStore(c)
		c.Header("WWW-Authenticate", e.Challenge())
		c.JSON(e.Status, gin.H{"detail": "Authentication credentials were not provided."})
	default:
		h.writeOAuthError(c, e)
	}
}
