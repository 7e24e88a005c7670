package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/durability"
	"github.com/portcullis-oauth/portcullis/authserver/internal/embeddedredis"
	"github.com/portcullis-oauth/portcullis/authserver/internal/httpapi"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/redisurl"
)

// defaultEmbeddedRedisAddr is where the embedded Redis listens when
// REDIS_URL is unset, so that a resource server started beside it (make run)
// can subscribe to revocations at a known address.
const defaultEmbeddedRedisAddr = "127.0.0.1:6380"

// redisClients is the auth server's one client of Redis: rueidis, which
// pipelines the commands of concurrent requests on one connection (chosen
// by measurement, see BENCHMARKS.md), and the readiness check of that Redis.
type redisClients struct {
	// tokens serves the token store.
	tokens rueidis.Client
	// rdb is the same client shaped like go-redis, for sessions and the
	// login throttle.
	rdb redis.Cmdable
	// ready is /readyz's "redis" check: the eviction and persistence guard
	// for REDIS_URL, a PING for the embedded Redis.
	ready httpapi.Pinger
}

// defaultSnapshotPath is where the embedded Redis keeps its data, beside
// the default SQLite file.
const defaultSnapshotPath = "data/embedded-redis.snapshot"

var _ httpapi.Warner = (*durability.Guard)(nil)

// openRedis connects to REDIS_URL, or starts the embedded in-process Redis
// (miniredis) on EMBEDDED_REDIS_ADDR when REDIS_URL is unset. The returned
// func releases all of it (the embedded Redis writes its snapshot then).
// A REDIS_URL whose maxmemory-policy evicts is refused, unless
// REDIS_ALLOW_EVICTION is set; one without persistence is warned about.
func openRedis(ctx context.Context, cfg config, log *slog.Logger) (redisClients, func(), error) {
	if cfg.RedisURL == "" {
		return openEmbeddedRedis(log)
	}
	c, err := redisurl.Parse(cfg.RedisURL)
	if err != nil {
		return redisClients{}, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	tc, err := tokens.Dial(tokens.Options(c))
	if tc == nil {
		return redisClients{}, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewAdapter(tc)
	closeAll := tc.Close
	guard := durability.NewGuard(func() []durability.Node { return redisNodes(tc) }, cfg.RedisAllowEviction, allowEvictionVar)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	reports, warnings, err := guard.Check(cctx)
	switch {
	case errors.Is(err, durability.ErrEvicting):
		closeAll()
		return redisClients{}, nil, fmt.Errorf("REDIS_URL: %w", err)
	case err != nil:
		// Not fatal: readyz checks again, and requests get 503 until Redis is back.
		log.Warn("redis is not answering yet; /readyz checks its eviction policy and persistence when it does", "error", err)
	default:
		for _, r := range reports {
			log.Info("redis checked", "node", r.Node, "maxmemory_policy", r.Policy, "aof", r.AOF, "rdb", rdbWord(r.RDB))
		}
		for _, w := range warnings {
			log.Warn(w)
		}
	}
	return redisClients{rdb: rdb, tokens: tc, ready: guard}, closeAll, nil
}

// embeddedConfig reads the embedded Redis's settings, which matter only
// when REDIS_URL is unset: EMBEDDED_REDIS_ADDR, EMBEDDED_REDIS_SNAPSHOT
// (the snapshot file; "off" keeps nothing) and
// EMBEDDED_REDIS_SNAPSHOT_INTERVAL.
func embeddedConfig(getenv func(string) string) (embeddedredis.Config, error) {
	c := embeddedredis.Config{Addr: getenv("EMBEDDED_REDIS_ADDR"), SnapshotPath: getenv("EMBEDDED_REDIS_SNAPSHOT"), Interval: 30 * time.Second}
	if c.Addr == "" {
		c.Addr = defaultEmbeddedRedisAddr
	}
	switch c.SnapshotPath {
	case "":
		c.SnapshotPath = defaultSnapshotPath
	case "off":
		c.SnapshotPath = ""
	}
	if v := getenv("EMBEDDED_REDIS_SNAPSHOT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return c, fmt.Errorf("EMBEDDED_REDIS_SNAPSHOT_INTERVAL=%q: want a duration of at least 1s", v)
		}
		c.Interval = d
	}
	return c, nil
}

// openEmbeddedRedis starts the embedded Redis, restoring its snapshot.
func openEmbeddedRedis(log *slog.Logger) (redisClients, func(), error) {
	ec, err := embeddedConfig(os.Getenv)
	if err != nil {
		return redisClients{}, nil, err
	}
	ec.Log = log
	m, err := embeddedredis.Start(ec)
	if err != nil {
		return redisClients{}, nil, fmt.Errorf("embedded redis: %w (set REDIS_URL, EMBEDDED_REDIS_ADDR to a free address, or EMBEDDED_REDIS_SNAPSHOT)", err)
	}
	log.Warn("REDIS_URL is not set: using an embedded in-process Redis, for development only",
		"redis_url", "redis://"+m.Addr(), "snapshot", ec.SnapshotPath, "snapshot_interval", ec.Interval.String())
	tc, err := tokens.Dial(rueidis.ClientOption{InitAddress: []string{m.Addr()}, ForceSingleClient: true})
	if tc == nil {
		_ = m.Close()
		return redisClients{}, nil, fmt.Errorf("embedded redis: %w", err)
	}
	rdb := redis.NewAdapter(tc)
	release := func() {
		tc.Close()
		if err := m.Close(); err != nil {
			log.Error("embedded redis: last snapshot failed: the data since the previous one is lost", "path", ec.SnapshotPath, "error", err)
		}
	}
	ready := pingFunc(func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	return redisClients{rdb: rdb, tokens: tc, ready: ready}, release, nil
}

// redisNodes are the nodes the token store's client knows, as the
// durability guard needs them: the standalone server, the Sentinel master,
// or every cluster node it is connected to.
func redisNodes(c rueidis.Client) []durability.Node {
	nodes := c.Nodes()
	out := make([]durability.Node, 0, len(nodes))
	for _, addr := range slices.Sorted(maps.Keys(nodes)) {
		out = append(out, rueidisNode{addr: addr, c: nodes[addr]})
	}
	return out
}

// rueidisNode is one Redis server behind rueidis, for the durability guard.
type rueidisNode struct {
	addr string
	c    rueidis.Client
}

var _ durability.Node = rueidisNode{}

func (n rueidisNode) Info(ctx context.Context, section string) (string, error) {
	s, err := n.c.Do(ctx, n.c.B().Info().Section(section).Build()).ToString()
	return s, refused(err)
}

func (n rueidisNode) ConfigGet(ctx context.Context, parameter string) (string, error) {
	m, err := n.c.Do(ctx, n.c.B().ConfigGet().Parameter(parameter).Build()).AsStrMap()
	return m[parameter], refused(err)
}

// refused marks Redis's error replies (a renamed or forbidden command) as
// durability.ErrRefused; other errors mean the node did not answer.
func refused(err error) error {
	if _, ok := rueidis.IsRedisErr(err); ok {
		return fmt.Errorf("%w: %w", durability.ErrRefused, err)
	}
	return err
}

func (n rueidisNode) String() string { return n.addr }

func rdbWord(p durability.Persistence) string {
	switch p {
	case durability.RDBOn:
		return "on"
	case durability.RDBUnknown:
		return "unknown (CONFIG refused)"
	}
	return "off"
}
