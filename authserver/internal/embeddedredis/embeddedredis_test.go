package embeddedredis_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/embeddedredis"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func start(t *testing.T, path string, interval time.Duration) (*embeddedredis.Server, *redis.Client) {
	t.Helper()
	s, err := embeddedredis.Start(embeddedredis.Config{Addr: freeAddr(t), SnapshotPath: path, Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return s, c
}

// TestRestartKeepsEveryTypeAndTTL writes each data type the auth server
// uses (strings, hashes, sets, sorted sets; lists too), restarts, and finds
// the same values, binary ones included, with their TTLs still running.
func TestRestartKeepsEveryTypeAndTTL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "redis.snapshot")
	s, c := start(t, path, time.Hour)
	binary := "\x00\xff\xfe token record \x80"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Set(ctx, "str", binary, time.Hour).Err())
	must(c.Set(ctx, "forever", "v", 0).Err())
	must(c.HSet(ctx, "hash", "a", "1", "b", binary).Err())
	must(c.PExpire(ctx, "hash", 2*time.Hour).Err())
	must(c.SAdd(ctx, "set", "x", "y", binary).Err())
	must(c.ZAdd(ctx, "zset", redis.Z{Score: 1.5, Member: "m1"}, redis.Z{Score: 29000000, Member: "m2"}).Err())
	must(c.Expire(ctx, "zset", 3*time.Hour).Err())
	must(c.RPush(ctx, "list", "1", "2", "3").Err())
	must(s.Close())

	_, c = start(t, path, time.Hour)
	if v, err := c.Get(ctx, "str").Result(); err != nil || v != binary {
		t.Fatalf("str = %q, %v", v, err)
	}
	if v, _ := c.Get(ctx, "forever").Result(); v != "v" {
		t.Fatalf("forever = %q", v)
	}
	if v, _ := c.HGetAll(ctx, "hash").Result(); v["a"] != "1" || v["b"] != binary || len(v) != 2 {
		t.Fatalf("hash = %q", v)
	}
	if v, _ := c.SMembers(ctx, "set").Result(); len(v) != 3 {
		t.Fatalf("set = %q", v)
	}
	if v, _ := c.ZRangeWithScores(ctx, "zset", 0, -1).Result(); len(v) != 2 || v[0].Score != 1.5 || v[1].Score != 29000000 {
		t.Fatalf("zset = %v", v)
	}
	if v, _ := c.LRange(ctx, "list", 0, -1).Result(); strings.Join(v, ",") != "1,2,3" {
		t.Fatalf("list = %q", v)
	}
	for key, want := range map[string]time.Duration{"str": time.Hour, "hash": 2 * time.Hour, "zset": 3 * time.Hour} {
		ttl, _ := c.PTTL(ctx, key).Result()
		if ttl <= want-time.Minute || ttl > want {
			t.Errorf("%s TTL %v, want just under %v", key, ttl, want)
		}
	}
	for _, key := range []string{"forever", "set", "list"} {
		if ttl, _ := c.PTTL(ctx, key).Result(); ttl != -1*time.Millisecond && ttl != -1 {
			t.Errorf("%s TTL %v, want none", key, ttl)
		}
	}
}

// TestTTLsRunOnTheClock: miniredis's TTLs only move when told; the embedded
// Redis makes them follow the wall clock, or throttles and sessions would
// never expire under make run.
func TestTTLsRunOnTheClock(t *testing.T) {
	ctx := context.Background()
	_, c := start(t, "", 0)
	if err := c.Set(ctx, "k", "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Exists(ctx, "k").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("a 50 ms key still exists after 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPeriodicSnapshot(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "redis.snapshot")
	s, c := start(t, path, 20*time.Millisecond)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Poll until a periodic snapshot holds the key, without closing.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), "k") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no periodic snapshot within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot mode %v, %v; want 0600", fi.Mode(), err)
	}
	// A periodic write may be under way right now: only after Close has
	// stopped the writer may no temporary file be left.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestCorruptSnapshotRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.snapshot")
	s, c := start(t, good, time.Hour)
	if err := c.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"truncated":   b[:len(b)-5],
		"not ours":    []byte("REDIS0011\xfa\x09redis-ver"),
		"empty":       {},
		"bad payload": append([]byte("portcullis-embedded-redis\n"), 0xff, 0x00, 0x13),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := embeddedredis.Start(embeddedredis.Config{Addr: freeAddr(t), SnapshotPath: path})
			if !errors.Is(err, embeddedredis.ErrCorruptSnapshot) || !strings.Contains(err.Error(), path) ||
				!strings.Contains(err.Error(), "move it away") {
				t.Fatalf("err = %v", err)
			}
			if after, _ := os.ReadFile(path); string(after) != string(content) {
				t.Fatal("the corrupt snapshot was changed")
			}
		})
	}
}

func TestNoSnapshotFileStartsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none", "redis.snapshot")
	_, c := start(t, path, time.Hour)
	if n := c.DBSize(context.Background()).Val(); n != 0 {
		t.Fatalf("%d keys", n)
	}
}
