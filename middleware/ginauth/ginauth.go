package ginauth

import (
	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/middleware"
)

// New returns Gin middleware that authenticates every request as
// middleware.Verifier.Handler does, aborting with the same RFC 6750 answers.
func New(v *middleware.Verifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		r, ok := v.Authenticate(c.Writer, c.Request)
		if !ok {
			c.Abort()
			return
		}
		c.Request = r
		c.Next()
	}
}

// RequireScopes returns Gin middleware for a route or group that needs all
// of scopes. Behind New it reuses the Identity; on its own it authenticates
// first. It panics on an invalid scope token (a programming error).
func RequireScopes(v *middleware.Verifier, scopes ...string) gin.HandlerFunc {
	guard := v.Guard(scopes...)
	return func(c *gin.Context) {
		r, ok := guard(c.Writer, c.Request)
		if !ok {
			c.Abort()
			return
		}
		c.Request = r
		c.Next()
	}
}

// IdentityFrom returns the Identity that New or RequireScopes stored.
func IdentityFrom(c *gin.Context) (middleware.Identity, bool) {
	return middleware.FromContext(c.Request.Context())
}
