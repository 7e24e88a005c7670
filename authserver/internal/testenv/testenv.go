// Package testenv tells tests where the real PostgreSQL and Redis are.
// TEST_DATABASE_URL and TEST_REDIS_URL name them; .ci/run sets both. When a
// variable is unset the test is skipped, through shared/servicetest, with a
// message naming it, except under CI=true, where a missing service fails
// the test instead.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// Redis connects to TEST_REDIS_URL and returns the client and a fresh key
// prefix, so that parallel tests never see each other's keys. When the test
// ends, the keys under the prefix are deleted and the client is closed.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(servicetest.Require(t, "TEST_REDIS_URL"))
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
