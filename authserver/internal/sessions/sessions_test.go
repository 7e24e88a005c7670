package sessions

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func TestSessions(t *testing.T) {
	run := func(t *testing.T, rdb redis.UniversalClient, prefix string, mr *miniredis.Miniredis) {
		ctx := context.Background()
		var mu sync.Mutex
		clock := time.Now()
		s := New(testenv.Compat(t, rdb), prefix, 10*time.Minute, 30*time.Minute)
		s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		advance := func(d time.Duration) {
			mu.Lock()
			clock = clock.Add(d)
			mu.Unlock()
			if mr != nil {
				mr.FastForward(d)
			}
		}
		id, sess, err := s.Create(ctx, 42, "m")
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) != 1 || strings.Contains(keys[0], id) {
			t.Fatalf("keys %v: the id must not be stored", keys)
		}
		got, err := s.Get(ctx, id)
		if err != nil || got.UserID != 42 || got.CSRF != sess.CSRF || len(got.CSRF) < 43 {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		flip := byte('A')
		if id[42] == 'A' {
			flip = 'B'
		}
		if _, err := s.Get(ctx, id[:42]+string(flip)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other id: %v", err)
		}
		// Used every 9 minutes it stays alive, until the absolute cap.
		for range 3 {
			advance(9 * time.Minute)
			if _, err := s.Get(ctx, id); err != nil {
				t.Fatalf("session died while in use: %v", err)
			}
		}
		advance(4 * time.Minute) // 31 minutes old
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("past the absolute lifetime: %v", err)
		}
		id2, _, _ := s.Create(ctx, 1, "m")
		if mr != nil {
			advance(11 * time.Minute)
			if _, err := s.Get(ctx, id2); !errors.Is(err, ErrNotFound) {
				t.Fatalf("idle session: %v", err)
			}
		}
		id3, _, _ := s.Create(ctx, 1, "m")
		if err := s.Delete(ctx, id3); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, id3); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}
	}
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		defer rdb.Close()
		run(t, rdb, testenv.Prefix(), mr)
	})
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := testenv.Redis(t)
		run(t, rdb, prefix, nil)
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			_ = rdb.Del(context.Background(), keys...).Err()
		}
	})
}
