package sessions

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func TestFlash(t *testing.T) {
	run := func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		ctx := context.Background()
		s := New(testenv.Compat(t, rdb), prefix, 10*time.Minute, 30*time.Minute)
		id, _, err := s.Create(ctx, 1, "m")
		if err != nil {
			t.Fatal(err)
		}
		other, _, _ := s.Create(ctx, 2, "m")
		if got, err := s.TakeFlash(ctx, id); err != nil || len(got) != 0 {
			t.Fatalf("no flash yet: %v %v", got, err)
		}
		for _, m := range []string{"one", "two"} {
			if err := s.AddFlash(ctx, id, m); err != nil {
				t.Fatal(err)
			}
		}
		if ttl := rdb.PTTL(ctx, s.flashKey(id)).Val(); ttl <= 0 || ttl > 10*time.Minute {
			t.Fatalf("flash TTL %v, want at most the idle timeout", ttl)
		}
		if got, _ := s.TakeFlash(ctx, other); len(got) != 0 {
			t.Fatalf("another session saw the flash: %v", got)
		}
		if got, err := s.TakeFlash(ctx, id); err != nil || !slices.Equal(got, []string{"one", "two"}) {
			t.Fatalf("take: %v %v", got, err)
		}
		if got, _ := s.TakeFlash(ctx, id); len(got) != 0 {
			t.Fatalf("a flash came back: %v", got)
		}
		for i := range maxFlash + 5 {
			_ = s.AddFlash(ctx, id, string(rune('a'+i)))
		}
		if got, _ := s.TakeFlash(ctx, id); len(got) != maxFlash || got[maxFlash-1] != string(rune('a'+maxFlash+4)) {
			t.Fatalf("bounded flash: %v", got)
		}
		if err := s.Stash(ctx, id, "secret", "v", time.Hour); err != nil {
			t.Fatal(err)
		}
		if ttl := rdb.PTTL(ctx, s.stashKey(id, "secret")).Val(); ttl <= 0 || ttl > 10*time.Minute {
			t.Fatalf("stash TTL %v, want at most the idle timeout", ttl)
		}
		if v, ok, err := s.Take(ctx, other, "secret"); ok || err != nil || v != "" {
			t.Fatalf("another session took the stash: %q %v %v", v, ok, err)
		}
		if v, ok, err := s.Take(ctx, id, "secret"); !ok || err != nil || v != "v" {
			t.Fatalf("take: %q %v %v", v, ok, err)
		}
		if _, ok, _ := s.Take(ctx, id, "secret"); ok {
			t.Fatal("a stash was taken twice")
		}
	}
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		run(t, rdb, testenv.Prefix())
	})
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := testenv.Redis(t)
		run(t, rdb, prefix)
	})
}
