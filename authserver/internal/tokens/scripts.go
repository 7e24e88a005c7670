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
// SET and needs no script.) The family hash holds: c the client, a and r
// the live access and refresh hashes (key form), A the access hash in hex
// (for revocation events), g the grant body and s the granted scope (from
// which the rotation script builds new records), and x the horizon of the
// family's index entries (Unix ms).
// KEYS: at, rt, fam. ARGV: 1 atVal, 2 atTTLms, 3 rtVal, 4 rtTTLms,
// 5 famTTLms, 6 client, 7 atH, 8 rtH, 9 horizon, 10 atHex, 11 grant body,
// 12 scope.
var issueScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('HSET', KEYS[3], 'c', ARGV[6], 'a', ARGV[7], 'r', ARGV[8], 'x', ARGV[9], 'A', ARGV[10], 'g', ARGV[11], 's', ARGV[12])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
`)

// rotateScript consumes a refresh token in one round trip. Replies:
//
//	{"ok", scope, old access hex, bump, grant body}  rotated; bump is "1"
//	    when the family now reaches its index horizon: its keys then live
//	    no longer than the index entries until Rotate raises them
//	{"scope"}     the asked scope is wider than the family's: nothing changed
//	{"notfound"}  unknown, or another client's
//	{"race"}      rotated away within the grace period: a concurrent loser
//	{"replayed", h...}  rotated away earlier: family revoked; h are the
//	    deleted keys' hashes
//
// New records are head .. grant body .. scope (see appendTimes).
// KEYS: fam, rt, tomb, newAT, newRT.
// ARGV: 1 rtH, 2 client, 3 nowMs, 4 graceMs, 5 newATH, 6 newRTH,
// 7 newAT hex, 8 access record head, 9 refresh record head, 10 asked scope
// ("" = the family's), 11 atTTLms, 12 rtTTLms, 13 famTTLms, 14 trim the
// tombstones to this many ("" = not now), 15 at key prefix, 16 rt key
// prefix, 17 revocation channel, 18 and 19 the rotation's revocation event
// around the old access hash (published on success, so that the
// rotated-away access token leaves caches in the same round trip).
var rotateScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'c', 'r', 'a', 'x', 'A', 'g', 's')
local c, r, a = f[1], f[2], f[3]
if (not c) or c ~= ARGV[2] then return {'notfound'} end
if r == ARGV[1] and a and f[4] and f[5] and f[6] and f[7] and redis.call('EXISTS', KEYS[2]) == 1 then
  local old, g, s = f[5], f[6], f[7]
  local scope = ARGV[10]
  if scope == '' then
    scope = s
  else
    local have = {}
    for w in string.gmatch(s, '%S+') do have[w] = true end
    for w in string.gmatch(scope, '%S+') do
      if not have[w] then return {'scope'} end
    end
  end
  local atTTL, rtTTL, famTTL = ARGV[11], ARGV[12], ARGV[13]
  local bump = '0'
  local room = tonumber(f[4]) - tonumber(ARGV[3])
  if room < tonumber(famTTL) then
    bump = '1'
    if room < 1000 then room = 1000 end
    room = string.format('%d', room)
    famTTL = room
    if tonumber(atTTL) > tonumber(room) then atTTL = room end
    if tonumber(rtTTL) > tonumber(room) then rtTTL = room end
  end
  redis.call('DEL', KEYS[2], ARGV[15] .. a)
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  if ARGV[14] ~= '' then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[14])) end
  redis.call('SET', KEYS[4], ARGV[8] .. g .. scope, 'PX', atTTL)
  redis.call('SET', KEYS[5], ARGV[9] .. g .. s, 'PX', rtTTL)
  redis.call('HSET', KEYS[1], 'a', ARGV[5], 'r', ARGV[6], 'A', ARGV[7])
  redis.call('PEXPIRE', KEYS[1], famTTL)
  redis.call('PEXPIRE', KEYS[3], famTTL)
  redis.call('PUBLISH', ARGV[17], ARGV[18] .. old .. ARGV[19])
  return {'ok', scope, old, bump, g}
end
local ts = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not ts then return {'notfound'} end
if tonumber(ARGV[3]) - tonumber(ts) < tonumber(ARGV[4]) then return {'race'} end
local out = {'replayed'}
if a and redis.call('DEL', ARGV[15] .. a) == 1 then table.insert(out, a) end
if r and redis.call('DEL', ARGV[16] .. r) == 1 then table.insert(out, r) end
redis.call('DEL', KEYS[1], KEYS[3])
return out
`)

// extendScript gives a family that reached its index horizon its full
// lifetime back, once Rotate has raised the index entries: it records the
// new horizon and sets the expiry of every key the rotation capped. It does
// nothing to a family that is gone (revoked meanwhile).
// KEYS: fam, tomb, at, rt. ARGV: horizon, fam, at and rt expiry (Unix ms).
var extendScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'x', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
redis.call('PEXPIREAT', KEYS[3], ARGV[3])
redis.call('PEXPIREAT', KEYS[4], ARGV[4])
return 1
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

var allScripts = []*redis.Script{issueScript, rotateScript, extendScript, revokeFamilyScript}

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
