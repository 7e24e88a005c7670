package middleware

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of the options.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultCacheSize   = 10000
	DefaultMaxTTL      = 5 * time.Minute
	DefaultNegativeTTL = 10 * time.Second
	DefaultClockSkew   = 0
	DefaultRealm       = "api"
)

// Option configures a Verifier. Options are checked by New.
type Option func(*config)

type config struct {
	clientID, clientSecret string
	hasCreds               bool
	bearer                 string
	httpClient             *http.Client
	timeout                time.Duration
	cacheSize              int
	maxTTL                 time.Duration
	negativeTTL            time.Duration
	clockSkew              time.Duration
	staleIfError           time.Duration
	required               []string
	audience               string
	fromForm, fromQuery    bool
	realm                  string
	hooks                  Hooks
	logger                 *slog.Logger
	requestIDHeader        string
}

func defaultConfig() config {
	return config{
		timeout:     DefaultTimeout,
		cacheSize:   DefaultCacheSize,
		maxTTL:      DefaultMaxTTL,
		negativeTTL: DefaultNegativeTTL,
		clockSkew:   DefaultClockSkew,
		realm:       DefaultRealm,
	}
}

// WithClientCredentials authenticates introspection calls with HTTP Basic.
// id and secret are form-url-encoded before base64, as RFC 6749 §2.3.1 asks.
func WithClientCredentials(id, secret string) Option {
	return func(c *config) { c.clientID, c.clientSecret, c.hasCreds = id, secret, true }
}

// WithBearerToken authenticates introspection calls with a bearer token that
// has the introspection scope. It excludes WithClientCredentials.
func WithBearerToken(tok string) Option { return func(c *config) { c.bearer = tok } }

// WithHTTPClient sets the client for introspection calls. The default
// client does not follow redirects (a redirected POST loses its body) and
// keeps up to 64 idle connections to the auth server.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithTimeout bounds each introspection call (default 5s).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithCacheSize caps the number of cached active answers (default 10000);
// inactive answers have a cache of the same size of their own, so a flood of
// bad tokens cannot push good ones out.
func WithCacheSize(n int) Option { return func(c *config) { c.cacheSize = n } }

// WithMaxTTL caps how long an active answer is trusted (default 5m). An entry
// never outlives the token's exp minus the clock skew.
func WithMaxTTL(d time.Duration) Option { return func(c *config) { c.maxTTL = d } }

// WithNegativeTTL sets how long an inactive answer is cached, and how long a
// token named in a revocation event is refused without asking the auth
// server again (default 10s); 0 turns both off.
func WithNegativeTTL(d time.Duration) Option { return func(c *config) { c.negativeTTL = d } }

// WithClockSkew makes the verifier treat a token as expired d before its
// exp (default 0: the auth server's exp is taken as it is). Set it to the
// worst difference you expect between this host's clock and the auth
// server's, when this host may run late.
func WithClockSkew(d time.Duration) Option { return func(c *config) { c.clockSkew = d } }

// WithRequiredScopes makes every request need all of these scopes (checked
// on cache hits too). Per-route scopes go through Require.
func WithRequiredScopes(scopes ...string) Option {
	return func(c *config) { c.required = append(c.required, scopes...) }
}

// WithAudience rejects tokens whose introspected aud (a string or an array)
// does not contain aud. A token without aud is rejected too.
func WithAudience(aud string) Option { return func(c *config) { c.audience = aud } }

// WithTokenFromForm also accepts the token in an access_token field of a
// form-encoded request body (RFC 6750 §2.2).
func WithTokenFromForm() Option { return func(c *config) { c.fromForm = true } }

// WithTokenFromQuery also accepts the token in an access_token query
// parameter (RFC 6750 §2.3). Off by default: URLs end up in logs.
func WithTokenFromQuery() Option { return func(c *config) { c.fromQuery = true } }

// WithRealm sets the realm of WWW-Authenticate challenges (default "api").
func WithRealm(realm string) Option { return func(c *config) { c.realm = realm } }

// WithStaleIfError lets the verifier keep answering from an active answer
// up to d past its fresh lifetime while the auth server is unavailable
// (never past the token's exp). Off by default: the verifier fails closed.
func WithStaleIfError(d time.Duration) Option { return func(c *config) { c.staleIfError = d } }

// WithHooks sets metric callbacks.
func WithHooks(h Hooks) Option { return func(c *config) { c.hooks = h } }

// WithLogger sets the logger (default: slog.Default(), so that a
// misconfiguration is never silent). The verifier logs failed introspection
// calls, at most one line per 10 s, and the endpoint rejecting its own
// credentials as an ERROR, at most one line a minute; each line counts the
// ones left out. Tokens are never logged. To silence it, pass
// slog.New(slog.DiscardHandler).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRequestIDHeader copies the incoming request's header name (for
// example "X-Request-ID") onto the introspection call it triggers. Values
// longer than 128 bytes or with characters outside visible ASCII are dropped.
func WithRequestIDHeader(name string) Option {
	return func(c *config) { c.requestIDHeader = http.CanonicalHeaderKey(name) }
}

// Hooks are counters for metrics. Each may be nil; each must be cheap and
// safe for concurrent use, since it runs on the request path.
type Hooks struct {
	OnHit       func() // answered from the cache (active or inactive)
	OnMiss      func() // an introspection call was made
	OnCoalesced func() // waited for another request's introspection call
	OnError     func() // introspection failed (network, timeout, 5xx, 429, bad body) or was skipped during a 429 back-off
	OnStale     func() // a stale answer was served because of an error
	OnEvict     func() // a revocation or purge was applied
}

func call(f func()) {
	if f != nil {
		f()
	}
}
