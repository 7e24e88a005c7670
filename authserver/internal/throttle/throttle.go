package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable wraps every Redis failure (down, timeout).
var ErrUnavailable = errors.New("throttle: store unavailable")

// Limiter counts failures per key in fixed windows: the first failure of a
// key starts a window of length window; once limit failures are counted in
// it, Check refuses that key until the window ends. Safe for concurrent
// use.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	limit  int
	window time.Duration
}

// New returns a Limiter. prefix is REDIS_PREFIX. limit must be at least 1
// and window at least a millisecond.
func New(rdb redis.UniversalClient, prefix string, limit int, window time.Duration) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix, limit: limit, window: window}
}

// key is the Redis key of a caller's key: never the caller's text itself.
func (l *Limiter) key(k string) string {
	h := sha256.Sum256([]byte(k))
	return l.prefix + "throttle:" + hex.EncodeToString(h[:])
}

func unavailable(op string, err error) error {
	return fmt.Errorf("throttle: %s: %w: %w", op, ErrUnavailable, err)
}

// Check reports whether any key is over the limit, and for how long
// (retryAfter>0 means refuse; it is the longest wait among the keys over
// the limit). One round trip. Errors: ErrUnavailable.
func (l *Limiter) Check(ctx context.Context, keys ...string) (retryAfter time.Duration, err error) {
	if len(keys) == 0 {
		return 0, nil
	}
	counts := make([]*redis.StringCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	_, err = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			counts[i] = p.Get(ctx, l.key(k))
			ttls[i] = p.PTTL(ctx, l.key(k))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, unavailable("check", err)
	}
	for i := range keys {
		n, err := counts[i].Int()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return 0, unavailable("check", err)
		}
		if n < l.limit {
			continue
		}
		ttl := ttls[i].Val()
		if ttl <= 0 { // expiring right now, or (never) no TTL
			ttl = time.Millisecond
		}
		retryAfter = max(retryAfter, ttl)
	}
	return retryAfter, nil
}

// Fail records a failed attempt against every key, in one round trip.
// Errors: ErrUnavailable.
func (l *Limiter) Fail(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ms := max(l.window.Milliseconds(), 1)
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Incr(ctx, l.key(k))
			// NX: only the first failure starts the window; a key that
			// somehow lost its TTL gets one back.
			p.Do(ctx, "PEXPIRE", l.key(k), ms, "NX")
		}
		return nil
	})
	if err != nil {
		return unavailable("fail", err)
	}
	return nil
}

// Reset clears keys (after a successful login, the account key). Errors:
// ErrUnavailable.
func (l *Limiter) Reset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	rk := make([]string, len(keys))
	for i, k := range keys {
		rk[i] = l.key(k)
	}
	// One DEL per key, so Redis Cluster can route each on its own.
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range rk {
			p.Del(ctx, k)
		}
		return nil
	})
	if err != nil {
		return unavailable("reset", err)
	}
	return nil
}
