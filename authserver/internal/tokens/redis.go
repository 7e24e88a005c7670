package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
)

// Redis plumbing: pipelines, scripts, errors, the client.
//
// Every script touches only keys of one shard (one hash slot: a family's
// keys and its shard's epochs), of one code, or one index key. Keys built
// inside a script from a family's stored hashes or a record's user and
// client (ARGV prefixes + name) are in the same slot as the declared ones,
// which Redis Cluster allows.

// unavailable wraps a Redis failure. The command may still have run (a
// lost reply, a half-done batch), deleting tokens without this process
// evicting them and with its own echo skipped: so the access-token cache is
// emptied, which is always safe. Redis may also have lost data (a restart,
// a failover), so the index buckets this process knew to be registered
// are forgotten, and registered again on their next write.
func (s *Store) unavailable(op string, err error) error {
	s.cache.purge()
	s.known.forget()
	return fmt.Errorf("tokens: %s: %w: %w", op, grant.ErrUnavailable, err)
}

func firstErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	return nil
}

// Ping checks that Redis answers. Errors: ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.unavailable("ping", err)
	}
	return nil
}

// Dial creates the client a Store takes, from opt with the store's settings
// added: no server-assisted client cache (the Store keeps its own), and
// RetryOnce. For a single server not up yet it still returns a client,
// which connects when Redis is back, together with the dial error.
func Dial(opt rueidis.ClientOption) (rueidis.Client, error) {
	opt.DisableCache, opt.DisableRetry, opt.RetryDelay = true, false, RetryOnce
	return rueidis.NewClient(opt)
}

// RetryOnce is the store's rueidis retry policy: a read-only command that
// met a network error (a connection Redis closed) is tried once more, at
// once, on a new connection; nothing is retried while Redis stays down, so
// that callers get ErrUnavailable (503) at once instead of waiting.
func RetryOnce(attempts int, _ rueidis.Completed, _ error) time.Duration {
	if attempts <= 1 {
		return 0
	}
	return -1
}

// newScript is redis.NewScript, registering the source with loadScripts.
func newScript(src string) *redis.Script {
	scriptSources = append(scriptSources, src)
	return redis.NewScript(src)
}

// pipelined runs fn's commands in one round trip. Scripts must be queued
// with EvalSha; if Redis lost its script cache (a restart, a failover), the
// scripts are loaded and the whole pipeline is sent once more, so every
// command queued by fn must be idempotent or a script that did not run.
// The per-command errors are left for the caller; the returned error is
// only a transport failure or a load failure.
func (s *Store) pipelined(ctx context.Context, fn func(redis.Pipeliner)) ([]redis.Cmder, error) {
	for attempt := 0; ; attempt++ {
		cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { fn(p); return nil })
		if attempt == 0 && hasNoScript(cmds) {
			if err := s.loadScripts(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil && !isCommandErr(cmds) {
			return cmds, err
		}
		return cmds, nil
	}
}

// doMulti sends the commands build makes in one round trip, natively
// (no go-redis-shaped adapter: this is the issue path). If Redis lost its
// script cache, the scripts are loaded and a fresh build is sent once
// more, so every command must be idempotent or a script that did not run.
// err is the first failure: a transport failure, a load failure, or an
// error reply (a nil reply is none).
func (s *Store) doMulti(ctx context.Context, build func() rueidis.Commands) ([]rueidis.RedisResult, error) {
	for attempt := 0; ; attempt++ {
		res := s.rc.DoMulti(ctx, build()...)
		var first error
		noScript := false
		for _, r := range res {
			err := r.Error()
			if err == nil || rueidis.IsRedisNil(err) {
				continue
			}
			noScript = noScript || strings.HasPrefix(err.Error(), "NOSCRIPT")
			if first == nil {
				first = err
			}
		}
		if noScript && attempt == 0 {
			if err := s.loadScripts(ctx); err != nil {
				return nil, err
			}
			continue
		}
		return res, first
	}
}

// evalsha is EVALSHA of sc, built natively.
func (s *Store) evalsha(sc *redis.Script, keys, argv []string) rueidis.Completed {
	return s.rc.B().Evalsha().Sha1(sc.Hash()).Numkeys(int64(len(keys))).Key(keys...).Arg(argv...).Build()
}

// loadScripts loads every script on every primary (SCRIPT LOAD through the
// adapter, which finds the primaries with ROLE), or, on a server without
// ROLE (the embedded Redis, a single node), on the one server.
func (s *Store) loadScripts(ctx context.Context) error {
	for _, src := range scriptSources {
		if err := s.rdb.ScriptLoad(ctx, src).Err(); err != nil {
			if _, ok := rueidis.IsRedisErr(err); !ok {
				return err
			}
			if err := s.rc.Do(ctx, s.rc.B().ScriptLoad().Script(src).Build()).Error(); err != nil {
				return err
			}
		}
	}
	return nil
}

// scriptSources are the sources of every script made with newScript.
var scriptSources []string

func hasNoScript(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			return true
		}
	}
	return false
}

// isCommandErr reports whether every failed command failed with a reply
// from Redis (nil or an error reply) rather than a transport failure.
func isCommandErr(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		err := c.Err()
		if err == nil || errors.Is(err, redis.Nil) {
			continue
		}
		if _, ok := rueidis.IsRedisErr(err); !ok {
			return false
		}
	}
	return true
}
