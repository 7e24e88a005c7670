package throttle

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
		t.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
		f(t, env{rdb: rdb, prefix: prefix})
	})
}

// fail makes n failed attempts against keys.
func fail(t *testing.T, l *Limiter, n int, keys ...string) {
	t.Helper()
	for i := 0; i < n; i++ {
		a, retry, err := l.Begin(context.Background(), keys...)
		if err != nil || retry != 0 || a == nil {
			t.Fatalf("attempt %d refused: %v %v", i+1, retry, err)
		}
	}
}

func TestLimiter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		ctx := context.Background()
		l := New(testenv.Compat(t, e.rdb), e.prefix, 3, window)
		keys := LoginKeys("victim@example.com", "192.0.2.1")
		acct, ip := keys[0], keys[1]
		fail(t, l, 3, acct, ip)
		// The fourth attempt is refused, with the rest of the window.
		a, retry, err := l.Begin(ctx, acct, ip)
		if err != nil || a != nil || retry <= 0 || retry > window {
			t.Fatalf("fourth attempt: %v %v %v", a, retry, err)
		}
		// Another account from another address is not affected.
		if _, retry, _ := l.Begin(ctx, LoginKeys("other@example.com", "198.51.100.7")...); retry != 0 {
			t.Fatal("an unrelated login was throttled")
		}
		// The same account from another address is refused (per account),
		// and so is another account from the same address (per address).
		if _, retry, _ := l.Begin(ctx, acct, "ip:203.0.113.9"); retry == 0 {
			t.Fatal("the account key did not hold")
		}
		if _, retry, _ := l.Begin(ctx, "acct:someone@example.com", ip); retry == 0 {
			t.Fatal("the address key did not hold")
		}
		// No email in clear in any key.
		stored, _ := testenv.Keys(ctx, e.rdb, e.prefix+"*")
		for _, k := range stored {
			if strings.Contains(k, "example.com") || strings.Contains(k, "192.0.2.1") {
				t.Fatalf("key %q holds the caller's text", k)
			}
		}
	})
}

func TestSuccessGivesTheAttemptBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		ctx := context.Background()
		l := New(testenv.Compat(t, e.rdb), e.prefix, 2, window)
		ip := "ip:192.0.2.50"
		// Many people behind one address log in correctly, one after another.
		for i := 0; i < 5; i++ {
			a, retry, err := l.Begin(ctx, "acct:user"+string(rune('a'+i))+"@example.com", ip)
			if err != nil || retry != 0 {
				t.Fatalf("login %d refused: %v %v", i, retry, err)
			}
			if err := a.Succeeded(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// A failure then a success clears the account's count.
		acct := "acct:a@example.com"
		fail(t, l, 1, acct, ip)
		a, _, _ := l.Begin(ctx, acct, ip)
		if err := a.Succeeded(ctx); err != nil {
			t.Fatal(err)
		}
		fail(t, l, 1, acct, "ip:other")
	})
}

// TestParallelGuessesStopAtTheLimit: attempts are counted before the
// password is checked, so parallel guesses cannot all pass a check that
// has not seen the others' failures yet.
func TestParallelGuessesStopAtTheLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		l := New(testenv.Compat(t, e.rdb), e.prefix, 10, window)
		var wg sync.WaitGroup
		var passed, refused atomic.Int32
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, retry, err := l.Begin(context.Background(), LoginKeys("victim@example.com", "192.0.2.77")...)
				switch {
				case err != nil:
					t.Error(err)
				case retry > 0:
					refused.Add(1)
				case a != nil:
					passed.Add(1) // and the guess fails: nothing more to call
				}
			}()
		}
		wg.Wait()
		// At most the limit gets through. (Fewer may: a refused attempt is
		// counted for an instant before it is given back, which can refuse
		// a concurrent one too; that errs on the safe side.)
		if p, r := passed.Load(), refused.Load(); p > 10 || p < 5 || p+r != 40 {
			t.Fatalf("%d guesses got through and %d were refused; want at most 10 through", p, r)
		}
	})
}

func TestWindowEnds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		if e.mr == nil {
			t.Skip("SKIPPED on real Redis: needs miniredis FastForward")
		}
		ctx := context.Background()
		l := New(testenv.Compat(t, e.rdb), e.prefix, 2, window)
		fail(t, l, 2, "ip:x")
		if _, retry, _ := l.Begin(ctx, "ip:x"); retry <= 0 {
			t.Fatal("not throttled at the limit")
		}
		e.mr.FastForward(window + time.Second)
		if a, retry, err := l.Begin(ctx, "ip:x"); a == nil || retry != 0 || err != nil {
			t.Fatalf("still throttled after the window: %v %v", retry, err)
		}
		// A give-back after the window ended must not leave a key without a TTL.
		a, _, _ := l.Begin(ctx, "acct:y", "ip:y")
		e.mr.FastForward(window + time.Second)
		if err := a.Succeeded(ctx); err != nil {
			t.Fatal(err)
		}
		keys, _ := testenv.Keys(ctx, e.rdb, e.prefix+"*")
		for _, k := range keys {
			if e.rdb.PTTL(ctx, k).Val() <= 0 {
				t.Fatalf("key %s has no TTL", k)
			}
		}
	})
}

func TestUnavailable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	l := New(testenv.Compat(t, rdb), "x:", 3, window)
	if _, _, err := l.Begin(context.Background(), "a"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Begin: %v", err)
	}
	a := &Attempt{l: l, keys: []string{"a", "b"}}
	if err := a.Succeeded(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Succeeded: %v", err)
	}
}
