package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/metrics"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

// Pinger is a dependency readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is everything the routes call.
type Deps struct {
	Accounts  *accounts.Service
	OAuth     *oauth.Server
	Lifecycle bearers
	// Throttle counts password guesses, old_password's included.
	Throttle *throttle.Limiter
	// Issuer is this server's public base URL, for RFC 8414 metadata.
	Issuer string
	// OIDCIssuer is the iss of id tokens (OIDC_ISSUER), and JWKS publishes
	// the signing keys; both serve when OAuth.OpenIDEnabled().
	OIDCIssuer string
	JWKS       keySet
	// Metrics, when set, times every request and is served on /metrics.
	Metrics *metrics.Metrics
	// Pages registers the HTML side (login, consent, applications, admin);
	// nil serves the API alone.
	Pages Registrar
	// Ready maps a dependency's name ("database", "redis") to its check.
	Ready map[string]Pinger
	Log   *slog.Logger
}

// Registrar adds a group of routes to the engine: the HTML pages.
type Registrar interface {
	Register(r gin.IRouter)
	// NotFound answers a browser path that has no route with an HTML page.
	NotFound(c *gin.Context)
}

// apiPaths are the path prefixes of the JSON side: a path under one of
// them that has no route gets a JSON 404, any other path the pages' HTML
// 404 (when the pages are served).
var apiPaths = []string{"/users/", "/o/token", "/o/introspect", "/o/revoke_token", "/.well-known/", "/healthz", "/readyz", "/metrics",
	"/o/.well-known/", "/o/userinfo", "/o/device_authorization"}

func isAPIPath(p string) bool {
	for _, a := range apiPaths {
		if strings.HasPrefix(p, a) {
			return true
		}
	}
	return false
}

// New builds the engine with every route; see Engine for HEAD and
// trailing slashes.
func New(d Deps) *Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(requestID(), accessLog(d.Log), recovery(d.Log), securityHeaders(), limitBody())
	if d.Metrics != nil {
		r.Use(d.Metrics.Middleware())
		r.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	}
	r.NoRoute(func(c *gin.Context) {
		if d.Pages != nil && !isAPIPath(c.Request.URL.Path) {
			d.Pages.NotFound(c)
			return
		}
		c.JSON(http.StatusNotFound, gin.H{"detail": "Not found."})
	})
	r.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, gin.H{"detail": "Method \"" + c.Request.Method + "\" not allowed."})
	})

	h := &handlers{d: d}
	r.POST("/users/signup/", h.signup)
	r.PUT("/users/password/", h.changePassword)
	r.PATCH("/users/password/", h.changePassword)
	r.POST("/o/token/", h.token)
	r.POST("/o/introspect/", h.introspect)
	r.GET("/o/introspect/", h.introspect)
	r.POST("/o/revoke_token/", h.revoke)
	r.GET("/.well-known/oauth-authorization-server", h.metadata)
	if d.OAuth.OpenIDEnabled() {
		h.registerOpenID(r)
	}
	if d.OAuth.DeviceEnabled() {
		h.registerDevice(r)
	}
	if d.Pages != nil {
		d.Pages.Register(r)
	}
	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)
	return &Engine{Engine: r, routes: newRouteTable(r.Routes())}
}

type handlers struct{ d Deps }

type ctxKey int

const requestIDKey ctxKey = 0

// RequestIDFromContext returns the request's ID, or "".
func RequestIDFromContext(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// requestID takes X-Request-ID from the caller when it is sane, else makes
// one, and echoes it on the response.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !saneID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Writer.Header()["X-Request-Id"] = []string{id}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey, id))
		c.Next()
	}
}

func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// accessLog logs one line per request, a client that hung up as 499
// (metrics.Status). It logs the path without its query
// string, and no header or body, so that no credential reaches a log.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !log.Enabled(c.Request.Context(), slog.LevelInfo) {
			c.Next() // LOG_LEVEL above info: no timing, no client IP to work out
			return
		}
		start := time.Now()
		c.Next()
		log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
			slog.String("request_id", RequestIDFromContext(c.Request.Context())),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", metrics.Status(c)),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", c.ClientIP()),
		)
	}
}

// recovery turns a panic into a logged 500 with a JSON body; the panic value
// is logged, never sent.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(c.Request.Context(), "panic", "request_id", RequestIDFromContext(c.Request.Context()), "panic", v)
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"detail": "A server error occurred."})
			}
		}()
		c.Next()
	}
}

// Fixed response headers are assigned with their canonical names and
// shared values: Header.Set would canonicalize the name and allocate the
// value's slice on every request. A later Add appends to a full slice, so
// it copies and never writes into a shared one.
var (
	denyFrames   = []string{"DENY"}
	noSniff      = []string{"nosniff"}
	sameOrigin   = []string{"same-origin"}
	noStoreCache = []string{"no-store"}
	noCache      = []string{"no-cache"}
)

func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h["X-Frame-Options"] = denyFrames
		h["X-Content-Type-Options"] = noSniff
		h["Referrer-Policy"] = sameOrigin
		c.Next()
	}
}

func limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > MaxBodyBytes {
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, gin.H{"detail": "Request body too large."})
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
		c.Next()
	}
}
