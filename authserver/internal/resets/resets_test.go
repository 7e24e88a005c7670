package resets

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func TestResets(t *testing.T) {
	run := func(t *testing.T, rdb redis.UniversalClient, prefix string, expire func()) {
		ctx := context.Background()
		s := New(testenv.Compat(t, rdb), prefix, time.Hour)
		tok, err := s.Issue(ctx, Grant{UserID: 7, Mark: "m"})
		if err != nil || !strings.HasPrefix(tok, "pcpr_") {
			t.Fatalf("issue: %q %v", tok, err)
		}
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) != 1 || strings.Contains(keys[0], tok[5:]) {
			t.Fatalf("keys %v: the token must not be stored", keys)
		}
		if v, _ := rdb.Get(ctx, keys[0]).Result(); strings.Contains(v, tok[5:]) {
			t.Fatal("the token is in the stored value")
		}
		if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("TTL %v", ttl)
		}
		if g, err := s.Peek(ctx, tok); err != nil || g.UserID != 7 || g.Mark != "m" {
			t.Fatalf("peek: %+v %v", g, err)
		}
		// Two uses racing: exactly one wins.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := s.Consume(ctx, tok); err == nil {
					wins.Add(1)
				} else if !errors.Is(err, ErrNotFound) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d uses of one token won", wins.Load())
		}
		if _, err := s.Peek(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a used token: %v", err)
		}
		for _, bad := range []string{"", "pcpr_", "pcpr_" + strings.Repeat("A", 43), tok[:len(tok)-1], "x" + tok[1:]} {
			if _, err := s.Consume(ctx, bad); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%q: %v", bad, err)
			}
		}
		old, _ := s.Issue(ctx, Grant{UserID: 8, Mark: "m"})
		expire()
		if _, err := s.Consume(ctx, old); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an expired token: %v", err)
		}
	}
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		run(t, rdb, testenv.Prefix(), func() { mr.FastForward(time.Hour + time.Second) })
	})
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := testenv.Redis(t)
		run(t, rdb, prefix, func() {
			// Real Redis cannot fast-forward: end every key of the test now.
			keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
			for _, k := range keys {
				rdb.PExpire(context.Background(), k, time.Millisecond)
			}
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				if n, _ := rdb.Exists(context.Background(), keys...).Result(); n == 0 {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	})
}
