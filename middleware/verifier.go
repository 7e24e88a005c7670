package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// maxTokenLen bounds the tokens Verify accepts; longer ones are invalid.
const maxTokenLen = 8192

// Verifier checks bearer tokens against an introspection endpoint and
// caches the answers. It is safe for concurrent use. Each Verifier owns a
// cache whose janitor goroutine lives as long as the process: build one per
// auth server, not one per request.
type Verifier struct {
	cfg        config
	endpoint   string
	authHeader string
	client     *http.Client
	logger     *slog.Logger
	required   scope.Set

	// pos holds active answers (W-TinyLFU: a scan of new tokens cannot
	// flush the hot ones). Entries carry their own fresh and stale times,
	// checked on every hit, so the cache keeps no expiry of its own (that
	// made a hit a third dearer); size bounds it.
	pos *otter.Cache[[32]byte, *entry]
	neg *expirable.LRU[[32]byte, int64] // inactive answers: unix-nano deadline; nil if off

	sf  singleflight.Group
	gen atomic.Uint64 // bumped by every eviction: part of the singleflight key

	mu       sync.Mutex // guards inflight, and orders cache adds against evictions
	inflight map[*flight]struct{}
	flights  atomic.Int64 // len(inflight), read without mu by EvictTokenHash
	recent   recentRevocations

	backoffUntil atomic.Int64 // unix nano; after a 429

	credentialsLog, failureLog logLimiter

	now func() time.Time

	chMissing, chInvalid, chBadRequest, chScope string
}

// entry is a cached active answer. fresh ≤ stale ≤ exp − skew.
type entry struct {
	id    Identity
	key   [32]byte
	fresh int64 // unix nano: served without a call until then
	stale int64 // unix nano: served on error until then
}

// flight is one introspection call in progress; revoked is set (under mu)
// when an eviction may concern it, so its answer is not cached.
type flight struct {
	key     [32]byte
	revoked bool
}

// New builds a Verifier for the introspection endpoint at introspectionURL
// (absolute http or https URL). It returns an error for a bad URL or option.
func New(introspectionURL string, opts ...Option) (*Verifier, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	u, err := url.Parse(introspectionURL)
	if err != nil {
		return nil, fmt.Errorf("middleware: new: introspection URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("middleware: new: introspection URL must be an absolute http(s) URL")
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("middleware: new: %w", err)
	}
	v := &Verifier{
		cfg:      cfg,
		endpoint: u.String(),
		client:   cfg.httpClient,
		logger:   cfg.logger,
		inflight: make(map[*flight]struct{}),
		now:      time.Now,
	}
	for _, s := range cfg.required {
		if !v.required.Has(s) {
			v.required = append(v.required, s)
		}
	}
	if v.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		v.client = &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if v.logger == nil {
		v.logger = slog.Default()
	}
	v.credentialsLog.every, v.failureLog.every = credentialsLogEvery, failureLogEvery
	switch {
	case cfg.hasCreds:
		cred := url.QueryEscape(cfg.clientID) + ":" + url.QueryEscape(cfg.clientSecret)
		v.authHeader = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
	case cfg.bearer != "":
		v.authHeader = "Bearer " + cfg.bearer
	}
	pos, err := otter.New(&otter.Options[[32]byte, *entry]{MaximumSize: cfg.cacheSize})
	if err != nil {
		return nil, fmt.Errorf("middleware: new: cache: %w", err)
	}
	v.pos = pos
	if cfg.negativeTTL > 0 {
		v.neg = expirable.NewLRU[[32]byte, int64](cfg.cacheSize, nil, cfg.negativeTTL)
	}
	realm := `Bearer realm="` + cfg.realm + `"`
	v.chMissing = realm
	v.chInvalid = realm + `, error="invalid_token"`
	v.chBadRequest = realm + `, error="invalid_request"`
	v.chScope = scopeChallenge(realm, v.required)
	return v, nil
}

func scopeChallenge(realm string, required scope.Set) string {
	return realm + `, error="insufficient_scope", scope="` + required.String() + `"`
}

func (c *config) check() error {
	switch {
	case c.timeout <= 0:
		return errors.New("timeout must be positive")
	case c.cacheSize <= 0:
		return errors.New("cache size must be positive")
	case c.maxTTL <= 0:
		return errors.New("max TTL must be positive")
	case c.negativeTTL < 0, c.clockSkew < 0, c.staleIfError < 0:
		return errors.New("negative TTL, clock skew and stale-if-error must not be negative")
	case c.hasCreds && c.bearer != "":
		return errors.New("client credentials and bearer token are exclusive")
	case c.hasCreds && c.clientID == "":
		return errors.New("empty client id")
	case strings.ContainsAny(c.bearer, " \t\r\n"):
		return errors.New("bearer token has whitespace")
	case !quotable(c.realm):
		return errors.New(`realm must be printable ASCII without '"' or '\'`)
	case c.requestIDHeader != "" && !validHeaderName(c.requestIDHeader):
		return errors.New("bad request ID header name")
	}
	for _, s := range c.required {
		if set, err := scope.Parse(s); err != nil || len(set) != 1 {
			return fmt.Errorf("bad required scope %q", s)
		}
	}
	return nil
}

// quotable reports whether s can go inside a quoted-string unescaped.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// Verify checks token and returns what the auth server said about it. It
// checks the scopes of WithRequiredScopes and the audience of WithAudience.
// Errors match ErrInvalidToken, ErrUnavailable or ErrInsufficientScope (a
// *ScopeError, returned with the Identity). A cache hit does not allocate.
func (v *Verifier) Verify(ctx context.Context, token string) (Identity, error) {
	e, err := v.lookup(ctx, token)
	if err != nil {
		return Identity{}, err
	}
	if !e.id.Scopes.HasAll(v.required) {
		return e.id, &ScopeError{Required: v.required, Missing: e.id.Scopes.Missing(v.required)}
	}
	return e.id, nil
}

// lookup returns the cached or introspected active entry for token.
func (v *Verifier) lookup(ctx context.Context, token string) (*entry, error) {
	if token == "" {
		return nil, errEmpty
	}
	if len(token) > maxTokenLen {
		return nil, errTooLong
	}
	key := hashToken(token)
	now := v.now().UnixNano()
	var stale *entry
	if e, ok := v.pos.GetIfPresent(key); ok {
		if now < e.fresh {
			call(v.cfg.hooks.OnHit)
			return e, nil
		}
		if now < e.stale {
			stale = e
		}
	} else if v.neg != nil {
		if until, ok := v.neg.Get(key); ok && now < until {
			call(v.cfg.hooks.OnHit)
			return nil, errInactive
		}
	}
	if now < v.backoffUntil.Load() {
		call(v.cfg.hooks.OnError)
		return v.serveStale(stale, errBackoffEmpty)
	}
	return v.miss(ctx, token, key, stale)
}

// miss shares one introspection call among the concurrent misses of a
// token. Requests arriving after an eviction get a call of their own. It is
// apart from lookup so that the closure's captures stay off lookup's hit path.
func (v *Verifier) miss(ctx context.Context, token string, key [32]byte, stale *entry) (*entry, error) {
	var sfKey [40]byte
	copy(sfKey[:], key[:])
	g := v.gen.Load()
	for i := range 8 {
		sfKey[32+i] = byte(g >> (8 * i))
	}
	leader := false
	ch := v.sf.DoChan(string(sfKey[:]), func() (any, error) {
		leader = true
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.timeout)
		defer cancel()
		return v.fetch(cctx, token, key)
	})
	select {
	case r := <-ch:
		if !leader {
			call(v.cfg.hooks.OnCoalesced)
		}
		if r.Err != nil {
			if errors.Is(r.Err, ErrUnavailable) {
				return v.serveStale(stale, r.Err)
			}
			return nil, r.Err
		}
		return r.Val.(*entry), nil
	case <-ctx.Done():
		return nil, &unavailableError{cause: fmt.Errorf("middleware: verify: %w", ctx.Err())}
	}
}

// hashToken is revocation.Hash without the heap: for tokens of up to 256
// bytes the bytes to hash are copied into a stack buffer.
func hashToken(token string) [32]byte {
	if len(token) <= 256 {
		var buf [256]byte
		n := copy(buf[:], token)
		return sha256.Sum256(buf[:n])
	}
	return revocation.Hash(token)
}

func (v *Verifier) serveStale(stale *entry, err error) (*entry, error) {
	if stale != nil && v.now().UnixNano() < stale.stale {
		call(v.cfg.hooks.OnStale)
		return stale, nil
	}
	return nil, err
}

// fetch is the one introspection call that concurrent misses share.
func (v *Verifier) fetch(ctx context.Context, token string, key [32]byte) (*entry, error) {
	if v.now().UnixNano() < v.backoffUntil.Load() {
		call(v.cfg.hooks.OnError)
		return nil, errBackoffEmpty
	}
	call(v.cfg.hooks.OnMiss)
	f := &flight{key: key}
	v.mu.Lock()
	v.inflight[f] = struct{}{}
	v.flights.Add(1)
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.inflight, f)
		v.flights.Add(-1)
		v.mu.Unlock()
	}()

	a, err := v.introspect(ctx, token)
	if err != nil {
		call(v.cfg.hooks.OnError)
		v.logFailure(ctx, err)
		return nil, err
	}
	now := v.now()
	if a.reject != nil {
		v.cacheInactive(key, now)
		return nil, a.reject
	}
	var expBound int64 = 1<<63 - 1
	if a.hasExp {
		expBound = a.id.ExpiresAt.Add(-v.cfg.clockSkew).UnixNano()
	}
	if now.UnixNano() >= expBound {
		v.cacheInactive(key, now)
		return nil, errExpired
	}
	if v.cfg.audience != "" && !slices.Contains(a.id.Audience, v.cfg.audience) {
		v.cacheInactive(key, now)
		return nil, errAudience
	}
	e := &entry{id: a.id, key: key}
	e.fresh = min(now.Add(v.cfg.maxTTL).UnixNano(), expBound)
	e.stale = min(now.Add(v.cfg.maxTTL+v.cfg.staleIfError).UnixNano(), expBound)
	v.mu.Lock()
	// A token named in a revocation event (while this call ran, or shortly
	// before it while uncached) is refused: the answer may come from an
	// auth server that has not heard of it yet.
	var dead bool
	if v.neg != nil {
		negUntil := v.negUntil(key)
		dead = negUntil > now.UnixNano() || v.recent.until(key) > now.UnixNano()
		if dead && negUntil <= now.UnixNano() {
			v.cacheInactive(key, now) // now a token lookups race: no more calls
		}
	}
	if !dead && !f.revoked {
		v.pos.Set(key, e)
	}
	v.mu.Unlock()
	if dead {
		return nil, errInactive
	}
	return e, nil
}

// negUntil is the deadline of key's negative entry, or 0.
func (v *Verifier) negUntil(key [32]byte) int64 {
	until, _ := v.neg.Peek(key)
	return until
}

func (v *Verifier) cacheInactive(key [32]byte, now time.Time) {
	if v.neg != nil {
		v.neg.Add(key, now.Add(v.cfg.negativeTTL).UnixNano())
	}
}

// retryAfter is the Retry-After to send with a 503 caused by err.
func (v *Verifier) retryAfter(err error) time.Duration {
	if left := time.Duration(v.backoffUntil.Load() - v.now().UnixNano()); left > 0 {
		return left
	}
	var ue *unavailableError
	if errors.As(err, &ue) && ue.retryAfter > 0 {
		return ue.retryAfter
	}
	return defaultRetryAfter
}
