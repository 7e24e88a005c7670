// Package testenv tells tests where the real PostgreSQL and Redis are.
// TEST_DATABASE_URL and TEST_REDIS_URL name them; .ci/run sets both. When a
// variable is unset the test is skipped with a loud message, except under
// CI=true, where a missing service fails the test instead.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// InCI reports whether CI=true is set.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the value of the environment variable name, or skips the
// test (fails it under CI=true) when it is unset.
func Require(t testing.TB, name string) string {
	t.Helper()
	v := lookup(name)
	if v == "" {
		if InCI() {
			t.Fatalf("%s is not set, and CI=true: a missing service is a failure", name)
		}
		t.Skipf("SKIPPED: %s is not set; this test needs the real service (.ci/run sets it)", name)
	}
	return v
}

// Redis connects to TEST_REDIS_URL and returns the client and a fresh key
// prefix, so that parallel tests never see each other's keys. When the test
// ends, the keys under the prefix are deleted and the client is closed.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(Require(t, "TEST_REDIS_URL"))
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("TEST_REDIS_URL is set but Redis does not answer: %v", err)
	}
	prefix := Prefix()
	t.Cleanup(func() {
		DeletePrefix(c, prefix)
		_ = c.Close()
	})
	return c, prefix
}

// Prefix returns a random REDIS_PREFIX such as "t3f9a1c2e:".
func Prefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

func lookup(name string) string { return os.Getenv(name) }
