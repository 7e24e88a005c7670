package tokens

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Every script touches only keys of one family (one hash slot), or one
// index key. Keys built inside a script from a family's stored hashes
// (ARGV prefixes + hash) are in the same slot as the declared ones, which
// Redis Cluster allows.

// issueScript writes a new family with a refresh token: its access key,
// refresh key and family hash, all or none. (An access token alone is one
// SET and needs no script.)
// KEYS: at, rt, fam. ARGV: atVal, atTTLms, rtVal, rtTTLms, famTTLms,
// client, atH, rtH, index horizon.
var issueScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('HSET', KEYS[3], 'c', ARGV[6], 'a', ARGV[7], 'r', ARGV[8], 'x', ARGV[9])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
`)

// rotateScript consumes a refresh token. Replies: {"ok"}, {"notfound"},
// {"race"} (rotated away within the grace period: a concurrent loser), or
// {"replayed", h...} (family revoked; h are the deleted keys' hashes).
// KEYS: fam, rt, tomb, newAT, newRT, oldAT.
// ARGV: 1 rtH, 2 client, 3 nowMs, 4 graceMs, 5 newATval ("" = check only),
// 6 atTTLms, 7 newRTval, 8 rtTTLms, 9 famTTLms, 10 newATH, 11 newRTH,
// 12 oldATH, 13 trim the tombstones to this many ("" = not now), 14 at key prefix, 15 rt key prefix,
// 16 revocation channel, 17 the rotation's revocation event (published on
// success, so that the rotated-away access token leaves caches in the same
// round trip), 18 the family's new index horizon ("" = unchanged).
var rotateScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'c', 'r', 'a')
local c, r, a = f[1], f[2], f[3]
if (not c) or c ~= ARGV[2] then return {'notfound'} end
if r == ARGV[1] and ARGV[5] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then
  if a ~= ARGV[12] then return {'notfound'} end
  redis.call('DEL', KEYS[2], KEYS[6])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  if ARGV[13] ~= '' then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[13])) end
  redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[6])
  redis.call('SET', KEYS[5], ARGV[7], 'PX', ARGV[8])
  if ARGV[18] ~= '' then
    redis.call('HSET', KEYS[1], 'a', ARGV[10], 'r', ARGV[11], 'x', ARGV[18])
  else
    redis.call('HSET', KEYS[1], 'a', ARGV[10], 'r', ARGV[11])
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[9])
  redis.call('PEXPIRE', KEYS[3], ARGV[9])
  if ARGV[17] ~= '' then redis.call('PUBLISH', ARGV[16], ARGV[17]) end
  return {'ok'}
end
local ts = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not ts then return {'notfound'} end
if tonumber(ARGV[3]) - tonumber(ts) < tonumber(ARGV[4]) then return {'race'} end
local out = {'replayed'}
if a and redis.call('DEL', ARGV[14] .. a) == 1 then table.insert(out, a) end
if r and redis.call('DEL', ARGV[15] .. r) == 1 then table.insert(out, r) end
redis.call('DEL', KEYS[1], KEYS[3])
return out
`)

// revokeFamilyScript deletes a family's live tokens, the family hash and
// its tombstones, and returns the hashes of the token keys it deleted.
// KEYS: fam, tomb. ARGV: at key prefix, rt key prefix.
var revokeFamilyScript = redis.NewScript(`
local out = {}
local a = redis.call('HGET', KEYS[1], 'a')
local r = redis.call('HGET', KEYS[1], 'r')
if a and redis.call('DEL', ARGV[1] .. a) == 1 then table.insert(out, a) end
if r and redis.call('DEL', ARGV[2] .. r) == 1 then table.insert(out, r) end
redis.call('DEL', KEYS[1], KEYS[2])
return out
`)

var allScripts = []*redis.Script{issueScript, rotateScript, revokeFamilyScript}

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
			for _, sc := range allScripts {
				if err := sc.Load(ctx, s.rdb).Err(); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err != nil && !isCommandErr(cmds) {
			return cmds, err
		}
		return cmds, nil
	}
}

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
		var re redis.Error
		if !errors.As(err, &re) {
			return false
		}
	}
	return true
}
