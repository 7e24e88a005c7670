package tokens

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"
)

// Every script touches only keys of one family (one hash slot), or one
// index key. Keys built inside a script from a family's stored hashes
// (ARGV prefixes + hash) are in the same slot as the declared ones, which
// Redis Cluster allows.

// issueScript writes a new family with a refresh token: its access key,
// refresh key and family hash, all or none. (An access token alone is one
// SET and needs no script.) The family hash holds: c the client, a and r
// the live access and refresh hashes (key form), h the live access hash in
// the hex form that events carry (so that no script has to convert it) and
// k the a that h was made from (an auth server older than h rotates a
// without updating h; every field stays under 64 bytes, so that Redis keeps
// the hash in its compact encoding),
// g the grant body and s the granted scope (from which the rotation script
// builds new records), and x the horizon of the family's index entries
// (Unix ms).
// KEYS: at, rt, fam. ARGV: 1 atVal, 2 atTTLms, 3 rtVal, 4 rtTTLms,
// 5 famTTLms, 6 client, 7 atH, 8 rtH, 9 horizon, 10 grant body, 11 scope,
// 12 atH in hex.
var issueScript = newScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('HSET', KEYS[3], 'c', ARGV[6], 'a', ARGV[7], 'h', ARGV[12], 'k', ARGV[7], 'r', ARGV[8], 'x', ARGV[9], 'g', ARGV[10], 's', ARGV[11])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
`)

// rotateScript consumes a refresh token in one round trip. Replies:
//
//	{"ok", scope, old access hex, bump, grant body}  rotated; bump is "1"
//	    when the family now reaches its index horizon: its keys then live
//	    no longer than the index entries until Rotate raises them
//	{"scope"}     the asked scope is wider than the family's: nothing changed
//	{"legacy"}    the family predates g and s: nothing changed; call again
//	    with them (ARGV 19, 20), read from the refresh record
//	{"notfound"}  unknown, or another client's
//	{"race"}      rotated away within the grace period: a concurrent loser
//	{"replayed", h...}  rotated away earlier: family revoked; h are the
//	    deleted keys' hashes
//
// New records are head .. grant body .. scope (see appendTimes). The event
// names the rotated-away access token in hex: from h when h belongs to the
// family's a, the very key the script deletes, else converted from a (a
// family written, or last rotated, by an auth server older than h).
// KEYS: fam, rt, tomb, newAT, newRT.
// ARGV: 1 rtH, 2 client, 3 nowMs, 4 graceMs, 5 newATH, 6 newRTH, 7 access
// record head, 8 refresh record head, 9 asked scope ("" = the family's;
// already parsed), 10 atTTLms, 11 rtTTLms, 12 famTTLms, 13 trim the
// tombstones to this many ("" = not now), 14 at key prefix, 15 rt key
// prefix, 16 revocation channel, 17 and 18 the rotation's revocation event
// around the old access hash (published on success, so that the
// rotated-away access token leaves caches in the same round trip), 19 and
// 20 the grant body and scope of a family that lacks them ("" = none),
// 21 newATH in hex.
var rotateScript = newScript(`
local f = redis.call('HMGET', KEYS[1], 'c', 'r', 'a', 'x', 'g', 's', 'h', 'k')
local c, r, a = f[1], f[2], f[3]
if (not c) or c ~= ARGV[2] then return {'notfound'} end
if r == ARGV[1] and a and redis.call('EXISTS', KEYS[2]) == 1 then
  local g, s, upgrade = f[5], f[6], false
  if not (g and s) then
    if ARGV[19] == '' then return {'legacy'} end
    g, s, upgrade = ARGV[19], ARGV[20], true
  end
  local scope = ARGV[9]
  if scope == '' then
    scope = s
  else
    local have = {}
    for w in string.gmatch(s, '%S+') do have[w] = true end
    for w in string.gmatch(scope, '%S+') do
      if not have[w] then return {'scope'} end
    end
  end
  local atTTL, rtTTL, famTTL = ARGV[10], ARGV[11], ARGV[12]
  local bump = '0'
  local room = (tonumber(f[4]) or 0) - tonumber(ARGV[3])
  if room < tonumber(famTTL) then
    bump = '1'
    if room < 1000 then room = 1000 end
    room = string.format('%d', room)
    famTTL = room
    if tonumber(atTTL) > tonumber(room) then atTTL = room end
    if tonumber(rtTTL) > tonumber(room) then rtTTL = room end
  end
  redis.call('DEL', KEYS[2], ARGV[14] .. a)
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  if ARGV[13] ~= '' then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[13])) end
  redis.call('SET', KEYS[4], ARGV[7] .. g .. scope, 'PX', atTTL)
  redis.call('SET', KEYS[5], ARGV[8] .. g .. s, 'PX', rtTTL)
  if upgrade then
    redis.call('HSET', KEYS[1], 'a', ARGV[5], 'h', ARGV[21], 'k', ARGV[5], 'r', ARGV[6], 'g', g, 's', s)
  else
    redis.call('HSET', KEYS[1], 'a', ARGV[5], 'h', ARGV[21], 'k', ARGV[5], 'r', ARGV[6])
  end
  redis.call('PEXPIRE', KEYS[1], famTTL)
  redis.call('PEXPIRE', KEYS[3], famTTL)
  local old = f[7]
  if not (old and f[8] == a) then -- h is missing, or was made from an earlier a: a in hex
    local out, acc, n = {}, 0, 0
    for i = 1, #a do
      local c = string.byte(a, i)
      local v = 63
      if c >= 65 and c <= 90 then v = c - 65
      elseif c >= 97 and c <= 122 then v = c - 71
      elseif c >= 48 and c <= 57 then v = c + 4
      elseif c == 45 then v = 62 end
      acc, n = acc * 64 + v, n + 1
      if n == 4 then
        out[#out + 1] = string.format('%06x', acc)
        acc, n = 0, 0
      end
    end
    if n == 3 then out[#out + 1] = string.format('%04x', math.floor(acc / 4)) end
    old = table.concat(out)
  end
  redis.call('PUBLISH', ARGV[16], ARGV[17] .. old .. ARGV[18])
  return {'ok', scope, old, bump, g}
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

// registerScript adds bucket n to the index registry KEYS[1], dropping the
// buckets that ended, and makes the registry live at least until that
// bucket ends. One script, so that registrations of different buckets
// running at once cannot leave the registry expiring before its last
// bucket (an expiry set by one with NX after another's GT found none).
// KEYS: registry. ARGV: now (Unix ms), n, the bucket's end (Unix ms).
var registerScript = newScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[3], 'GT')
end
return 1
`)

// extendScript gives a family that reached its index horizon its full
// lifetime back, once Rotate has raised the index entries: it records the
// new horizon and sets the expiry of every key the rotation capped. It does
// nothing to a family that is gone (revoked meanwhile).
// KEYS: fam, tomb, at, rt. ARGV: horizon, fam, at and rt expiry (Unix ms).
var extendScript = newScript(`
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
var revokeFamilyScript = newScript(`
local out = {}
local a = redis.call('HGET', KEYS[1], 'a')
local r = redis.call('HGET', KEYS[1], 'r')
if a and redis.call('DEL', ARGV[1] .. a) == 1 then table.insert(out, a) end
if r and redis.call('DEL', ARGV[2] .. r) == 1 then table.insert(out, r) end
redis.call('DEL', KEYS[1], KEYS[2])
return out
`)

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
