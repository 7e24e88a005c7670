package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/ginauth"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/bff"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/items"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/metrics"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/requestid"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// Scopes the item routes need (the tutorial's two scopes).
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// Pinger is the readiness check (the database's PingContext).
type Pinger interface {
	PingContext(ctx context.Context) error
}

// Deps are what the routes are built from. All are required.
type Deps struct {
	Verifier *middleware.Verifier
	Items    *items.Handler
	BFF      *bff.Proxy
	DB       Pinger
	Logger   *slog.Logger
	// Metrics, when set, times every request and is served on /metrics.
	Metrics *metrics.Metrics
}

// New returns the whole HTTP handler.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	_ = r.SetTrustedProxies(nil) // log the peer, not a forgeable X-Forwarded-For
	r.Use(requestid.Middleware(), accessLog(d.Logger), recovery(d.Logger), securityHeaders)
	if d.Metrics != nil {
		r.Use(d.Metrics.Middleware())
		r.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	}

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", readyz(d.DB, d.Verifier, d.Logger))

	authn := ginauth.New(d.Verifier)
	d.Items.Register(r, authn, ginauth.RequireScopes(d.Verifier, ScopeRead), ginauth.RequireScopes(d.Verifier, ScopeWrite))
	d.BFF.Register(r)

	r.NoRoute(func(c *gin.Context) { c.JSON(http.StatusNotFound, gin.H{"detail": "Not found."}) })
	r.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, gin.H{"detail": "Method \"" + c.Request.Method + "\" not allowed."})
	})
	return r
}

// introspectionChecker is the readiness side of the middleware's Verifier.
type introspectionChecker interface {
	Check(ctx context.Context) error
}

var _ introspectionChecker = (*middleware.Verifier)(nil)

// Warnings readyz can show, fixed sentences rather than error texts.
const (
	warnCredentials = "introspection: the auth server rejects this server's credentials (INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET, or INTROSPECTION_TOKEN): every authenticated request gets 503"
	warnNoAnswer    = "introspection: the auth server did not answer; requests that need a token get 503 until it does"
)

// readyz is readiness, in the auth server's shape (wire.Readiness): the
// database must answer within 2 s, and the auth server must not reject
// this server's introspection credentials. An auth server that does not
// answer at all leaves the check "unknown" with a warning: taking every
// replica out of the load balancer would not bring it back, and the
// replicas already answer 503 with Retry-After.
func readyz(db Pinger, v introspectionChecker, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		rd := wire.NewReadiness()
		if err := db.PingContext(ctx); err != nil {
			log.WarnContext(ctx, "readiness check failed", "dependency", "database", "error", err)
			rd.Set("database", wire.CheckUnavailable)
		} else {
			rd.Set("database", wire.CheckOK)
		}
		// The verifier logs its own failures (rate-limited).
		switch err := v.Check(ctx); {
		case err == nil:
			rd.Set("introspection", wire.CheckOK)
		case errors.Is(err, middleware.ErrCredentialsRejected):
			rd.Set("introspection", wire.CheckUnavailable)
			rd.Warn(warnCredentials)
		default:
			rd.Set("introspection", wire.CheckUnknown)
			rd.Warn(warnNoAnswer)
		}
		c.JSON(rd.HTTPStatus(), rd)
	}
}

// accessLog logs one line per request, a client that hung up as 499 at
// info level (metrics.Status). It logs the path without the query
// string, which could hold a token (RFC 6750 §2.3), and never a header.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := metrics.Status(c)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("request_id", requestid.FromContext(c.Request.Context())),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Int64("duration_us", time.Since(start).Microseconds()),
			slog.String("client_ip", c.ClientIP()),
		)
	}
}

// recovery turns a panic into a logged 500 with a JSON body.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		log.ErrorContext(c.Request.Context(), "panic", "request_id", requestid.FromContext(c.Request.Context()), "err", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"detail": "A server error occurred."})
	})
}

// securityHeaders are the ones Django adds to every answer.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.Next()
}
