package bff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/resourceserver/internal/requestid"
)

// Limits.
const (
	// MaxBody is the largest request body forwarded (1 MiB).
	MaxBody = 1 << 20
	// maxUpstreamBody is the largest auth-server answer passed back.
	maxUpstreamBody = 1 << 20
	// DefaultTimeout bounds one call to the auth server.
	DefaultTimeout = 10 * time.Second
)

// Headers copied from the auth server's answer, besides Content-Type.
var passHeaders = []string{"Cache-Control", "Pragma", "WWW-Authenticate", "Retry-After", "Allow", "Vary"}

// Config is what the proxies need.
type Config struct {
	// AuthServerURL is the auth server's base URL, e.g. http://localhost:8000.
	AuthServerURL string
	// ClientID and ClientSecret are this service's own OAuth client.
	ClientID, ClientSecret string
	// HTTPClient defaults to a client with DefaultTimeout that follows no
	// redirects.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Proxy serves the /users/... endpoints. Safe for concurrent use.
type Proxy struct {
	base         *url.URL
	clientID     string
	clientSecret string
	hc           *http.Client
	log          *slog.Logger
}

// New checks cfg and returns a Proxy.
func New(cfg Config) (*Proxy, error) {
	u, err := url.Parse(strings.TrimRight(cfg.AuthServerURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bff: auth server URL %q: want http(s)://host[:port]", cfg.AuthServerURL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout: DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Proxy{base: u, clientID: cfg.ClientID, clientSecret: cfg.ClientSecret, hc: hc, log: log}, nil
}

// Register mounts the proxies on r, with and without the trailing slash.
func (p *Proxy) Register(r gin.IRouter) {
	for _, sfx := range []string{"/", ""} {
		r.POST("/users/signup"+sfx, p.signup)
		r.POST("/users/token"+sfx, p.token)
		r.POST("/users/token/refresh"+sfx, p.refresh)
		r.PUT("/users/password"+sfx, p.password)
		r.PATCH("/users/password"+sfx, p.password)
	}
}

// signup forwards the body as it came to /users/signup/.
func (p *Proxy) signup(c *gin.Context) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	p.forward(c, http.MethodPost, "/users/signup/", c.GetHeader("Content-Type"), body, false)
}

// password forwards the body and the caller's Authorization header to
// /users/password/ with the same method.
func (p *Proxy) password(c *gin.Context) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	p.forward(c, c.Request.Method, "/users/password/", c.GetHeader("Content-Type"), body, false)
}

// token turns {email, password} into a password grant.
func (p *Proxy) token(c *gin.Context) {
	fields, ok := readFields(c, "email", "password")
	if !ok {
		return
	}
	form := url.Values{"grant_type": {"password"}}
	if v, ok := fields["email"]; ok {
		form.Set("username", v)
	}
	if v, ok := fields["password"]; ok {
		form.Set("password", v)
	}
	p.forward(c, http.MethodPost, "/o/token/", "application/x-www-form-urlencoded", []byte(form.Encode()), true)
}

// refresh turns {refresh} into a refresh_token grant.
func (p *Proxy) refresh(c *gin.Context) {
	fields, ok := readFields(c, "refresh")
	if !ok {
		return
	}
	form := url.Values{"grant_type": {"refresh_token"}}
	if v, ok := fields["refresh"]; ok {
		form.Set("refresh_token", v)
	}
	p.forward(c, http.MethodPost, "/o/token/", "application/x-www-form-urlencoded", []byte(form.Encode()), true)
}

// forward makes one call to the auth server and writes its answer back.
// clientAuth adds this service's client credentials as HTTP Basic (RFC 6749
// §2.3.1: both halves form-encoded first); otherwise the caller's
// Authorization header, if any, is passed on.
func (p *Proxy) forward(c *gin.Context, method, path, contentType string, body []byte, clientAuth bool) {
	ctx := c.Request.Context()
	target := p.base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, method, target.String(), bytes.NewReader(body))
	if err != nil {
		p.log.ErrorContext(ctx, "bff: build request", "path", path, "err", err)
		detail(c, http.StatusInternalServerError, "A server error occurred.")
		return
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if clientAuth {
		req.SetBasicAuth(url.QueryEscape(p.clientID), url.QueryEscape(p.clientSecret))
	} else if a := c.GetHeader("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	if id := requestid.FromContext(ctx); id != "" {
		req.Header.Set(requestid.Header, id)
	}
	req.Header.Set("X-Forwarded-For", forwardedFor(c.Request))

	start := time.Now()
	resp, err := p.hc.Do(req)
	if err != nil {
		p.upstreamFailed(c, path, err)
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	if err == nil && len(out) > maxUpstreamBody {
		err = errors.New("answer larger than 1 MiB")
	}
	if err != nil {
		p.upstreamFailed(c, path, err)
		return
	}
	p.log.DebugContext(ctx, "bff: forwarded", "path", path, "status", resp.StatusCode, "duration_ms", time.Since(start).Milliseconds())
	for _, h := range passHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			c.Writer.Header()[h] = v
		}
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Data(resp.StatusCode, ct, out)
}

// upstreamFailed answers 504 on a timeout and 502 on anything else, unless
// the caller has gone, in which case nobody is listening.
func (p *Proxy) upstreamFailed(c *gin.Context, path string, err error) {
	ctx := c.Request.Context()
	if ctx.Err() != nil {
		c.Abort()
		return
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		p.log.WarnContext(ctx, "bff: auth server timed out", "path", path, "err", err)
		detail(c, http.StatusGatewayTimeout, "The authentication server did not answer in time.")
		return
	}
	p.log.WarnContext(ctx, "bff: auth server unreachable", "path", path, "err", err)
	detail(c, http.StatusBadGateway, "The authentication server is unavailable.")
}

// forwardedFor appends the peer's address to any X-Forwarded-For the request
// already had, as a proxy does; the auth server decides how many hops to
// trust.
func forwardedFor(r *http.Request) string {
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	if prior := strings.Join(r.Header.Values("X-Forwarded-For"), ", "); prior != "" {
		return prior + ", " + ip
	}
	return ip
}

func detail(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"detail": msg})
}
