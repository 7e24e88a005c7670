package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/redis/rueidis"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// accessCache keeps access-token records this process has read, so that
// introspecting a live token again costs no Redis round trip. Records never
// change once written; they only disappear (revocation, expiry). So the
// cache stays coherent with Redis through the revocation events:
//
//   - a revocation made by this process evicts here before its event is
//     published, so this process never answers from a record it revoked;
//   - a revocation made by another process arrives on the subscription that
//     WatchRevocations keeps (about a millisecond on loopback);
//   - while that subscription is down the cache is empty and unused, and
//     every lookup reads Redis;
//   - an entry lives at most the cache TTL, which bounds staleness should an
//     event be lost while the subscription looked healthy, and is never
//     served past its token's expiry.
//
// A read that started before an eviction is not cached (gen), so a slow
// read cannot put back a record that a revocation has just evicted.
//
// Records are admitted by frequency (W-TinyLFU, otter): a sweep of tokens
// introspected once, more than the cache holds, does not evict the tokens
// in steady use, as it would from an LRU.
type accessCache struct {
	lru  *otter.Cache[string, cached] // by key-form hash
	ttl  time.Duration
	mu   sync.Mutex    // orders adds against evictions
	gen  atomic.Uint64 // bumped by every eviction, under mu
	live atomic.Bool   // the subscription is up
}

// cached is a record and the end of its time in the cache. The cache checks
// the deadline itself on a hit: otter's own expiry doubled the cost of a
// hit (its timer wheel and clock on every read), and size alone bounds the
// memory.
type cached struct {
	record
	until int64 // Unix nanoseconds
}

// newAccessCache needs size and ttl positive.
func newAccessCache(size int, ttl time.Duration) *accessCache {
	return &accessCache{lru: otter.Must(&otter.Options[string, cached]{MaximumSize: size}), ttl: ttl}
}

// get returns a cached record. A nil cache holds nothing.
func (c *accessCache) get(h string) (record, bool) {
	if c == nil || !c.live.Load() {
		return record{}, false
	}
	v, ok := c.lru.GetIfPresent(h)
	if !ok || time.Now().UnixNano() >= v.until {
		return record{}, false
	}
	return v.record, true
}

// begin is called before a Redis read whose result may be cached; ok is
// false when nothing may be cached now.
func (c *accessCache) begin() (gen uint64, ok bool) {
	if c == nil || !c.live.Load() {
		return 0, false
	}
	return c.gen.Load(), true
}

// add caches r unless an eviction happened since begin returned gen.
func (c *accessCache) add(gen uint64, h string, r record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen && c.live.Load() {
		c.lru.Set(h, cached{record: r, until: time.Now().Add(c.ttl).UnixNano()})
	}
}

// apply evicts what e revokes. A kind it does not know purges everything.
func (c *accessCache) apply(e revocation.Event) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	switch e.Kind {
	case revocation.KindTokens:
		for _, h := range e.TokenHashes { // the keys' own form
			if _, ok := revocation.ParseHash(h); !ok {
				c.lru.InvalidateAll()
				return
			}
			c.lru.Invalidate(h)
		}
	case revocation.KindSubject:
		uid, err := strconv.ParseInt(e.Subject, 10, 64)
		if err != nil {
			c.lru.InvalidateAll()
			return
		}
		c.removeWhere(func(r record) bool { return r.UserID == uid })
	case revocation.KindClient:
		c.removeWhere(func(r record) bool { return r.ClientID == e.ClientID })
	default:
		c.lru.InvalidateAll()
	}
}

// evict drops one access token, by key-form hash: the rotated-away access
// token of a rotation, which the store names itself.
func (c *accessCache) evict(h string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.lru.Invalidate(h)
}

// removeWhere scans the cache, under mu: O(size), for rare events.
func (c *accessCache) removeWhere(match func(record) bool) {
	for k, v := range c.lru.All() {
		if match(v.record) {
			c.lru.Invalidate(k)
		}
	}
}

// purge empties the cache. A nil cache holds nothing.
func (c *accessCache) purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen.Add(1)
	c.lru.InvalidateAll()
	c.mu.Unlock()
}

// setLive empties the cache and turns it on or off. Off takes effect
// before the purge and on after it, so no entry outlives a gap.
func (c *accessCache) setLive(on bool) {
	if c == nil {
		return
	}
	if !on {
		c.live.Store(false)
	}
	c.purge()
	if on {
		c.live.Store(true)
	}
}

// CacheAccessTokens makes the store keep up to size access-token records in
// process for at most ttl each. The cache is used only while
// WatchRevocations runs and is subscribed; without it every lookup reads
// Redis. Call it before the Store is shared.
func (s *Store) CacheAccessTokens(size int, ttl time.Duration) {
	if size > 0 && ttl > 0 {
		s.cache = newAccessCache(size, ttl)
	}
}

// watchPing is how long the revocation subscription may stay silent before
// it is pinged; an unanswered ping counts as a drop.
const watchPing = 15 * time.Second

// ClientCache is a cache of client records that revocation events keep
// coherent across replicas (clients.Registry).
type ClientCache interface {
	// Forget drops one client.
	Forget(clientID string)
	// ForgetAll drops every client (events may have been missed).
	ForgetAll()
}

// WatchClients makes WatchRevocations tell c of every KindClient event
// another process publishes (a client deleted or changed), and empty it
// whenever the subscription (re)starts. Call it before the Store is
// shared.
func (s *Store) WatchClients(c ClientCache) { s.clients = c }

// WatchRevocations subscribes to the deployment's revocation channel and
// evicts what other processes revoke from the access-token cache and the
// client cache (WatchClients), until ctx ends. When the subscription
// drops, the token cache is emptied and switched off until a new
// subscription is confirmed, and the client cache is emptied. Without
// CacheAccessTokens and WatchClients it returns at once.
func (s *Store) WatchRevocations(ctx context.Context, log *slog.Logger) {
	if s.cache == nil && s.clients == nil {
		return
	}
	backoff := 100 * time.Millisecond
	for {
		err := s.watchOnce(ctx, func() { backoff = 100 * time.Millisecond })
		s.cache.setLive(false)
		if ctx.Err() != nil {
			return
		}
		log.LogAttrs(ctx, slog.LevelWarn, "revocation subscription lost; token cache off until it is back",
			slog.String("error", err.Error()))
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		backoff = min(2*backoff, 10*time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// watchOnce runs one subscription until it fails; it always returns an error.
func (s *Store) watchOnce(ctx context.Context, subscribed func()) error {
	channel := revocation.Channel(s.prefix)
	tag := revocation.OriginTag(s.origin)
	c, release := s.rc.Dedicate()
	defer release()
	closed := c.SetPubSubHooks(rueidis.PubSubHooks{
		OnSubscription: func(m rueidis.PubSubSubscription) {
			if m.Kind == "subscribe" && m.Channel == channel {
				s.cache.setLive(true)
				if s.clients != nil {
					s.clients.ForgetAll()
				}
				subscribed()
			}
		},
		OnMessage: func(m rueidis.PubSubMessage) {
			if strings.Contains(m.Message, tag) {
				return // this Store's own: applied before it was sent
			}
			e, err := revocation.DecodeString(m.Message)
			if err != nil {
				e = revocation.Event{} // unknown kind: purge
			}
			s.cache.apply(e)
			if s.clients != nil && (e.Kind == revocation.KindClient || e.Kind != revocation.KindTokens && e.Kind != revocation.KindSubject) {
				if e.ClientID != "" {
					s.clients.Forget(e.ClientID)
				} else {
					s.clients.ForgetAll()
				}
			}
		},
	})
	if err := c.Do(ctx, c.B().Subscribe().Channel(channel).Build()).Error(); err != nil {
		return fmt.Errorf("tokens: watch: subscribe: %w", err)
	}
	// A connection that went silent (half-open) fails the next ping.
	t := time.NewTicker(watchPing)
	defer t.Stop()
	for {
		select {
		case err := <-closed:
			if err == nil {
				err = errors.New("subscription closed")
			}
			return fmt.Errorf("tokens: watch: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, watchPing)
			err := c.Do(pctx, c.B().Ping().Build()).Error()
			cancel()
			if err != nil {
				return fmt.Errorf("tokens: watch: ping: %w", err)
			}
		}
	}
}
