package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/redisurl"
)

// defaultEmbeddedRedisAddr is where the embedded Redis listens when
// REDIS_URL is unset, so that a resource server started beside it (make run)
// can subscribe to revocations at a known address.
const defaultEmbeddedRedisAddr = "127.0.0.1:6380"

// openRedis connects to REDIS_URL, or starts the embedded in-process Redis
// (miniredis) on EMBEDDED_REDIS_ADDR when REDIS_URL is unset. The returned
// func releases both.
func openRedis(ctx context.Context, cfg config, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if cfg.RedisURL == "" {
		addr := os.Getenv("EMBEDDED_REDIS_ADDR")
		if addr == "" {
			addr = defaultEmbeddedRedisAddr
		}
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr(addr); err != nil {
			return nil, nil, fmt.Errorf("embedded redis on %s: %w (set REDIS_URL, or EMBEDDED_REDIS_ADDR to a free address)", addr, err)
		}
		log.Warn("REDIS_URL is not set: using an embedded in-process Redis; tokens are lost when the server stops",
			"redis_url", "redis://"+m.Addr())
		rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
		return rdb, func() { _ = rdb.Close(); m.Close() }, nil
	}
	rdb, err := dialRedis(cfg.RedisURL)
	if err != nil {
		return nil, nil, err
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		// Not fatal: readyz reports it and requests get 503 until it is back.
		log.Warn("redis is not answering yet", "error", err)
	}
	return rdb, func() { _ = rdb.Close() }, nil
}

// dialRedis builds a client for REDIS_URL in any form shared/redisurl
// accepts: standalone, Sentinel or Cluster.
func dialRedis(raw string) (redis.UniversalClient, error) {
	c, err := redisurl.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	o := &redis.UniversalOptions{
		Addrs: c.Addrs, Username: c.Username, Password: c.Password, DB: c.DB,
		MasterName: c.MasterName, SentinelPassword: c.SentinelPassword,
	}
	if c.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch c.Mode {
	case redisurl.Cluster:
		return redis.NewClusterClient(o.Cluster()), nil
	case redisurl.Sentinel:
		return redis.NewFailoverClient(o.Failover()), nil
	}
	return redis.NewClient(o.Simple()), nil
}
