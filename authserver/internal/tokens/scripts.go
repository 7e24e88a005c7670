package tokens

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"
)

// Every script touches only keys of one family (one hash slot), or one
// index key. Keys built inside a script from a family's stored hashes
// (ARGV prefixes + hash) are in the same slot as the declared ones, which
// Redis Cluster allows.

// rotateScript consumes a refresh token in one round trip. Replies:
//
//	{"ok", scope, old access hex, bump, grant body}  rotated; bump is "1"
//	    when the family now reaches its index horizon: its keys then live
//	    no longer than the index entries until Rotate raises them
//	{"scope"}     the asked scope is wider than the family's: nothing changed
//	{"notfound"}  unknown, or another client's
//	{"revoked"}   the family's user or client was revoked after it was
//	    issued (epoch.go): the family is deleted
//	{"race"}      rotated away within the grace period: a concurrent loser
//	{"replayed", h...}  rotated away earlier: family revoked; h are the
//	    deleted keys' hashes
//
// New records are head .. generation .. "|" .. grant body .. scope (see
// record); they keep the generation the family was issued under. The
// rotation's event, published in the same step so that the rotated-away
// access token leaves every cache at once, gets the family's h (the old
// access token's hash, in the events' hex) first in its hashes.
// KEYS and ARGV: rotateArgs.
var rotateScript = newScript(epochCheck + `
local f = redis.call('HMGET', KEYS[1], 'c', 'r', 'a', 'x', 'g', 's', 'h', 'u', 'e')
local c, r, a = f[1], f[2], f[3]
if (not c) or c ~= ARGV[2] then return {'notfound'} end
if r == ARGV[1] and a and redis.call('EXISTS', KEYS[2]) == 1 then
  local g, s, e = f[5], f[6], f[9]
  if revoked(ARGV[18], c, f[8], e) then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], ARGV[14] .. a)
    return {'revoked'}
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
  if ARGV[13] ~= '0' then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[13])) end
  redis.call('SET', KEYS[4], ARGV[7] .. e .. '|' .. g .. scope, 'PX', atTTL)
  redis.call('SET', KEYS[5], ARGV[8] .. e .. '|' .. g .. s, 'PX', rtTTL)
  redis.call('HSET', KEYS[1], 'a', ARGV[5], 'h', ARGV[19], 'r', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], famTTL)
  redis.call('PEXPIRE', KEYS[3], famTTL)
  local ev = cjson.decode(ARGV[17])
  table.insert(ev.token_hashes, 1, f[7])
  redis.call('PUBLISH', ARGV[16], cjson.encode(ev))
  return {'ok', scope, f[7], bump, g}
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

// rotateArgs are rotateScript's KEYS and ARGV.
type rotateArgs struct {
	fam, presented, tomb, newAT, newRT string // keys
	presentedH                         string // key-form hash of the refresh token presented
	clientID                           string
	now                                time.Time
	grace                              time.Duration // a second use within it is a race, not a replay
	newATH, newATHex, newRTH           string
	atHead, rtHead                     string // appendTimes of the new records
	scope                              string // asked, already parsed; "" = the family's
	atTTL, rtTTL, famTTL               time.Duration
	trim                               int // trim the tombstones to this many; 0 = not now
	atPrefix, rtPrefix                 string
	channel                            string // the revocation channel
	event                              string // the rotation's event, naming the presented refresh token
	epochs                             string // epochPrefix of the family's shard
}

func (a rotateArgs) build() ([]string, []any) {
	return []string{a.fam, a.presented, a.tomb, a.newAT, a.newRT},
		[]any{a.presentedH, a.clientID, a.now.UnixMilli(), a.grace.Milliseconds(), a.newATH, a.newRTH,
			a.atHead, a.rtHead, a.scope, a.atTTL.Milliseconds(), a.rtTTL.Milliseconds(), a.famTTL.Milliseconds(), a.trim,
			a.atPrefix, a.rtPrefix, a.channel, a.event, a.epochs, a.newATHex}
}

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
// KEYS and ARGV: familyArgs.
var revokeFamilyScript = newScript(`
local out = {}
local a = redis.call('HGET', KEYS[1], 'a')
local r = redis.call('HGET', KEYS[1], 'r')
if a and redis.call('DEL', ARGV[1] .. a) == 1 then table.insert(out, a) end
if r and redis.call('DEL', ARGV[2] .. r) == 1 then table.insert(out, r) end
redis.call('DEL', KEYS[1], KEYS[2])
return out
`)

// familyArgs are revokeFamilyScript's KEYS and ARGV.
type familyArgs struct {
	fam, tomb          string // keys
	atPrefix, rtPrefix string // the family's token keys, before the hash
}

func (a familyArgs) build() ([]string, []any) {
	return []string{a.fam, a.tomb}, []any{a.atPrefix, a.rtPrefix}
}

// familyOf is familyArgs for family fam.
func (s *Store) familyOf(fam string) familyArgs {
	return familyArgs{fam: s.keyFam(fam), tomb: s.keyTomb(fam), atPrefix: s.keyAT(fam, ""), rtPrefix: s.keyRT(fam, "")}
}

// deleteFamily runs revokeFamilyScript on family fam, returning the
// key-form hashes of the tokens it deleted. Errors: ErrUnavailable.
func (s *Store) deleteFamily(ctx context.Context, fam string) ([]string, error) {
	keys, argv := s.familyOf(fam).build()
	var cmd *redis.Cmd
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) { cmd = revokeFamilyScript.EvalSha(ctx, p, keys, argv...) })
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return nil, s.unavailable("revoke family", err)
	}
	hs, err := cmd.StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.unavailable("revoke family", err)
	}
	return hs, nil
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
