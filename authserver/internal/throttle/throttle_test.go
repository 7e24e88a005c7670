package throttle

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

const window = time.Minute

type env struct {
	rdb    redis.UniversalClient
	prefix string
	mr     *miniredis.Miniredis // nil on real Redis
}

func forEachBackend(t *testing.T, f func(t *testing.T, e env)) {
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		f(t, env{rdb: rdb, prefix: testenv.Prefix(), mr: mr})
	})
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := testenv.Redis(t)
		t.Cleanup(func() {
			ctx := context.Background()
			if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
				_ = rdb.Del(ctx, keys...).Err()
			}
		})
		f(t, env{rdb: rdb, prefix: prefix})
	})
}

func TestLimiter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		ctx := context.Background()
		l := New(e.rdb, e.prefix, 3, window)
		acct, ip := "acct:user1@email.com", "ip:192.0.2.1"

		for _, tt := range []struct {
			name      string
			fails     int // failures recorded before the check
			keys      []string
			wantBlock bool
		}{
			{"nothing recorded", 0, []string{acct, ip}, false},
			{"below the limit", 2, []string{acct, ip}, false},
			{"at the limit", 1, []string{acct, ip}, true},
			{"other account, same ip", 0, []string{"acct:other@email.com", ip}, true},
			{"other account, other ip", 0, []string{"acct:other@email.com", "ip:192.0.2.2"}, false},
			{"no keys", 0, nil, false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				for range tt.fails {
					if err := l.Fail(ctx, acct, ip); err != nil {
						t.Fatal(err)
					}
				}
				got, err := l.Check(ctx, tt.keys...)
				if err != nil {
					t.Fatal(err)
				}
				if block := got > 0; block != tt.wantBlock || got > window {
					t.Fatalf("retryAfter = %v, want block = %v", got, tt.wantBlock)
				}
			})
		}

		// Reset clears the account but not the IP.
		if err := l.Reset(ctx, acct); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.Check(ctx, acct); got != 0 {
			t.Fatalf("after reset: retryAfter = %v", got)
		}
		if got, _ := l.Check(ctx, ip); got == 0 {
			t.Fatal("reset of the account cleared the ip")
		}

		// No email in clear in any key; every key has a TTL within the window.
		keys, err := e.rdb.Keys(ctx, e.prefix+"*").Result()
		if err != nil || len(keys) == 0 {
			t.Fatalf("keys = %v, %v", keys, err)
		}
		for _, k := range keys {
			if strings.Contains(k, "email") || strings.Contains(k, "192.0.2") {
				t.Fatalf("key in clear: %s", k)
			}
			if ttl := e.rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > window {
				t.Fatalf("key %s TTL %v", k, ttl)
			}
		}
	})
}

func TestWindowEnds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		if e.mr == nil {
			t.Skip("SKIPPED on real Redis: needs miniredis FastForward")
		}
		ctx := context.Background()
		l := New(e.rdb, e.prefix, 2, window)
		for range 2 {
			if err := l.Fail(ctx, "ip:x"); err != nil {
				t.Fatal(err)
			}
		}
		e.mr.FastForward(window / 2)
		// A failure inside the window does not extend it.
		if err := l.Fail(ctx, "ip:x"); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.Check(ctx, "ip:x"); got <= 0 || got > window/2 {
			t.Fatalf("retryAfter = %v, want (0, %v]", got, window/2)
		}
		e.mr.FastForward(window/2 + time.Millisecond)
		if got, err := l.Check(ctx, "ip:x"); got != 0 || err != nil {
			t.Fatalf("after the window: %v, %v", got, err)
		}
	})
}

func TestUnavailable(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	defer rdb.Close()
	l := New(rdb, "p:", 3, window)
	mr.Close()
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"Check", func() error { _, err := l.Check(ctx, "a"); return err }},
		{"Fail", func() error { return l.Fail(ctx, "a") }},
		{"Reset", func() error { return l.Reset(ctx, "a") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
