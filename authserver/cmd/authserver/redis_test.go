package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/durability"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/redisurl"
)

func TestEmbeddedConfig(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		addr     string
		path     string
		interval time.Duration
		err      string
	}{
		{"defaults", nil, defaultEmbeddedRedisAddr, defaultSnapshotPath, 30 * time.Second, ""},
		{"all set", map[string]string{"EMBEDDED_REDIS_ADDR": "127.0.0.1:7777", "EMBEDDED_REDIS_SNAPSHOT": "/var/lib/p/r.snap", "EMBEDDED_REDIS_SNAPSHOT_INTERVAL": "5s"},
			"127.0.0.1:7777", "/var/lib/p/r.snap", 5 * time.Second, ""},
		{"snapshot off", map[string]string{"EMBEDDED_REDIS_SNAPSHOT": "off"}, defaultEmbeddedRedisAddr, "", 30 * time.Second, ""},
		{"interval too short", map[string]string{"EMBEDDED_REDIS_SNAPSHOT_INTERVAL": "10ms"}, "", "", 0, "EMBEDDED_REDIS_SNAPSHOT_INTERVAL"},
		{"interval not a duration", map[string]string{"EMBEDDED_REDIS_SNAPSHOT_INTERVAL": "often"}, "", "", 0, "EMBEDDED_REDIS_SNAPSHOT_INTERVAL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := embeddedConfig(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil || c.Addr != tc.addr || c.SnapshotPath != tc.path || c.Interval != tc.interval {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
}

// TestGuardSeesEveryClusterNode: on a Redis Cluster the guard asks every
// master, and one evicting master is enough to refuse.
func TestGuardSeesEveryClusterNode(t *testing.T) {
	cc, _ := testenv.RedisCluster(t)
	ctx := testenv.Context(t)
	var masters []string
	var mu sync.Mutex
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		masters = append(masters, n.Options().Addr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c, err := redisurl.Parse("redis-cluster://" + os.Getenv("TEST_REDIS_CLUSTER_ADDRS"))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tokens.Dial(tokens.Options(c))
	if tc == nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	guard := durability.NewGuard(func() []durability.Node { return redisNodes(tc) }, false, allowEvictionVar)
	reports, _, err := guard.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range reports {
		seen[r.Node] = true
	}
	for _, m := range masters {
		if !seen[m] {
			t.Fatalf("master %s was not checked; checked %v", m, reports)
		}
	}

	last := masters[len(masters)-1]
	node := redis.NewClient(&redis.Options{Addr: last})
	t.Cleanup(func() { _ = node.Close() })
	if err := node.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.ConfigSet(context.Background(), "maxmemory-policy", "noeviction").Err() })
	var ee *durability.EvictionError
	if _, _, err := guard.Check(ctx); !errors.As(err, &ee) || ee.Node != last || ee.Policy != "allkeys-lru" {
		t.Fatalf("with %s evicting: %v", last, err)
	}
}
