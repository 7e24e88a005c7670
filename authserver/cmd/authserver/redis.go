package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/redisurl"
)

// defaultEmbeddedRedisAddr is where the embedded Redis listens when
// REDIS_URL is unset, so that a resource server started beside it (make run)
// can subscribe to revocations at a known address.
const defaultEmbeddedRedisAddr = "127.0.0.1:6380"

// redisClients is the auth server's one client of Redis: rueidis, which
// pipelines the commands of concurrent requests on one connection (chosen
// by measurement, see BENCHMARKS.md).
type redisClients struct {
	// tokens serves the token store.
	tokens rueidis.Client
	// rdb is the same client shaped like go-redis, for sessions, the
	// login throttle and readiness.
	rdb redis.Cmdable
}

// openRedis connects to REDIS_URL, or starts the embedded in-process Redis
// (miniredis) on EMBEDDED_REDIS_ADDR when REDIS_URL is unset. The returned
// func releases all of it.
func openRedis(ctx context.Context, cfg config, log *slog.Logger) (redisClients, func(), error) {
	if cfg.RedisURL == "" {
		addr := os.Getenv("EMBEDDED_REDIS_ADDR")
		if addr == "" {
			addr = defaultEmbeddedRedisAddr
		}
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr(addr); err != nil {
			return redisClients{}, nil, fmt.Errorf("embedded redis on %s: %w (set REDIS_URL, or EMBEDDED_REDIS_ADDR to a free address)", addr, err)
		}
		log.Warn("REDIS_URL is not set: using an embedded in-process Redis; tokens are lost when the server stops",
			"redis_url", "redis://"+m.Addr())
		tc, err := tokens.Dial(rueidis.ClientOption{InitAddress: []string{m.Addr()}, ForceSingleClient: true})
		if tc == nil {
			m.Close()
			return redisClients{}, nil, fmt.Errorf("embedded redis: %w", err)
		}
		return redisClients{rdb: redis.NewAdapter(tc), tokens: tc}, func() { tc.Close(); m.Close() }, nil
	}
	c, err := redisurl.Parse(cfg.RedisURL)
	if err != nil {
		return redisClients{}, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	tc, err := tokens.Dial(tokenOptions(c))
	if tc == nil {
		return redisClients{}, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewAdapter(tc)
	if err := rdb.Ping(ctx).Err(); err != nil {
		// Not fatal: readyz reports it and requests get 503 until it is back.
		log.Warn("redis is not answering yet", "error", err)
	}
	return redisClients{rdb: rdb, tokens: tc}, tc.Close, nil
}

// tokenOptions are the rueidis options for REDIS_URL, in any form
// shared/redisurl accepts: standalone, Sentinel or Cluster. A
// standalone server is dialled as one, so that it need not be up at start;
// Sentinel and Cluster must answer at start (they are asked for their
// topology).
func tokenOptions(c redisurl.Config) rueidis.ClientOption {
	o := rueidis.ClientOption{InitAddress: c.Addrs, Username: c.Username, Password: c.Password, SelectDB: c.DB,
		ConnWriteTimeout: 3 * time.Second}
	o.Dialer.Timeout = 5 * time.Second
	if c.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch c.Mode {
	case redisurl.Sentinel:
		o.Sentinel = rueidis.SentinelOption{MasterSet: c.MasterName, Password: c.SentinelPassword}
	case redisurl.Cluster:
	default:
		o.ForceSingleClient = true
	}
	return o
}
