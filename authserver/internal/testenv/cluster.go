package testenv

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// RedisCluster connects to the Redis Cluster named by TEST_REDIS_CLUSTER_ADDRS
// (comma-separated seed addresses; `make test-cluster` and .ci/run start one
// with deploy/redis-cluster.sh) and returns the client and a fresh prefix.
// Unset: skipped loudly, or failed under CI=true.
func RedisCluster(t testing.TB) (*redis.ClusterClient, string) {
	t.Helper()
	addrs := strings.Split(servicetest.Require(t, "TEST_REDIS_CLUSTER_ADDRS"), ",")
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() }); err != nil {
		t.Fatalf("TEST_REDIS_CLUSTER_ADDRS is set but the cluster does not answer: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, Prefix()
}

// Keys lists the keys matching pattern on every node (KEYS on a cluster
// client asks only one node).
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return rdb.Keys(ctx, pattern).Result()
	}
	var mu sync.Mutex
	var out []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		k, err := n.Keys(ctx, pattern).Result()
		mu.Lock()
		out = append(out, k...)
		mu.Unlock()
		return err
	})
	return out, err
}

// DeletePrefix removes every key under prefix, one key at a time so that it
// works across cluster slots.
func DeletePrefix(rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	keys, _ := Keys(ctx, rdb, prefix+"*")
	for _, k := range keys {
		_ = rdb.Del(ctx, k).Err()
	}
}
