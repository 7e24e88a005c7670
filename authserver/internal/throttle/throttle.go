package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
)

// ErrUnavailable wraps every Redis failure (down, timeout).
var ErrUnavailable = errors.New("throttle: store unavailable")

// Limiter counts attempts per key in fixed windows: the first attempt of a
// key starts a window of length window, and at most limit attempts are let
// through in it. Safe for concurrent use.
type Limiter struct {
	rdb    redis.Cmdable
	prefix string
	limit  int
	window time.Duration
}

// New returns a Limiter. prefix is REDIS_PREFIX. limit must be at least 1
// and window at least a millisecond.
func New(rdb redis.Cmdable, prefix string, limit int, window time.Duration) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix, limit: limit, window: window}
}

// LoginKeys are the counters of one password login: the account, named
// by accounts.EmailKey (exactly the identity the user lookup uses, so no
// spelling of an email gets a counter of its own), and the client's
// address. email may be given as typed.
func LoginKeys(email, ip string) []string {
	return []string{"acct:" + accounts.EmailKey(email), "ip:" + ip}
}

// DeviceKey is the counter of a browser that holds a device cookie for the
// account it tries (web's device cookies): it replaces LoginKeys for that
// attempt, so that strangers' failures, counted on the account and their
// addresses, never stop it, and its own failures stop only it.
func DeviceKey(nonce string) []string { return []string{"dev:" + nonce} }

// key is the Redis key of a caller's key: never the caller's text itself.
func (l *Limiter) key(k string) string {
	h := sha256.Sum256([]byte(k))
	return l.prefix + "throttle:" + hex.EncodeToString(h[:])
}

func unavailable(op string, err error) error {
	return fmt.Errorf("throttle: %s: %w: %w", op, ErrUnavailable, err)
}

// giveBack decrements a counter only while it exists, so a window that
// ended meanwhile is not recreated without a TTL.
var giveBack = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0`)

// Attempt is one counted attempt, begun by Begin.
type Attempt struct {
	l    *Limiter
	keys []string
}

// Begin counts an attempt against every key, atomically per key, in one
// round trip. When any key is past the limit, the attempt is refused:
// retryAfter is the longest wait among those keys, and the attempt is not
// counted. Otherwise the caller checks the password and, on success, calls
// Succeeded; a failure needs no call, it stays counted. Redis keys are
// routed one by one, so this works on Redis Cluster. Errors: ErrUnavailable.
func (l *Limiter) Begin(ctx context.Context, keys ...string) (a *Attempt, retryAfter time.Duration, err error) {
	a = &Attempt{l: l, keys: keys}
	if len(keys) == 0 {
		return a, 0, nil
	}
	ms := max(l.window.Milliseconds(), 1)
	counts := make([]*redis.IntCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	_, err = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			counts[i] = p.Incr(ctx, l.key(k))
			// NX: only the first attempt starts the window; a key that
			// somehow lost its TTL gets one back.
			p.Do(ctx, "PEXPIRE", l.key(k), ms, "NX")
			ttls[i] = p.PTTL(ctx, l.key(k))
		}
		return nil
	})
	if err != nil {
		return nil, 0, unavailable("begin", err)
	}
	for i := range keys {
		if counts[i].Val() <= int64(l.limit) {
			continue
		}
		ttl := ttls[i].Val()
		if ttl <= 0 {
			ttl = time.Millisecond
		}
		retryAfter = max(retryAfter, ttl)
	}
	if retryAfter > 0 {
		// Refused attempts do not count: undo this one everywhere.
		if err := l.giveBack(ctx, keys...); err != nil {
			return nil, 0, err
		}
		return nil, retryAfter, nil
	}
	return a, 0, nil
}

// Succeeded ends a successful attempt: the first key (the account) starts
// afresh, and the others (the address) get the attempt back, so people who
// log in correctly never use up their address's allowance. One round trip.
// Errors: ErrUnavailable.
func (a *Attempt) Succeeded(ctx context.Context) error {
	if len(a.keys) == 0 {
		return nil
	}
	return a.l.settle(ctx, a.keys[0], a.keys[1:], false)
}

// giveBack undoes a refused attempt on every key, in one round trip.
func (l *Limiter) giveBack(ctx context.Context, keys ...string) error {
	return l.settle(ctx, "", keys, false)
}

// settle deletes del (when not "") and gives one attempt back to each of
// keys, in one pipeline; if Redis lost its script cache, it sends the
// pipeline once more with the script's source (EVAL, which loads it on
// the node of its key; DEL and a script that did not run are safe to
// repeat).
func (l *Limiter) settle(ctx context.Context, del string, keys []string, retried bool) error {
	cmds, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if del != "" {
			p.Del(ctx, l.key(del))
		}
		for _, k := range keys {
			if retried {
				giveBack.Eval(ctx, p, []string{l.key(k)})
			} else {
				giveBack.EvalSha(ctx, p, []string{l.key(k)})
			}
		}
		return nil
	})
	if err != nil && !retried && isNoScript(cmds) {
		return l.settle(ctx, del, keys, true)
	}
	if err != nil {
		return unavailable("give back", err)
	}
	return nil
}

// Seconds is a wait as a Retry-After value: whole seconds, rounded up.
func Seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

func isNoScript(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			return true
		}
	}
	return false
}
