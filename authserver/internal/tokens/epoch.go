package tokens

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"
)

// Epochs: revocation as a checked fact (Keycloak's "not before").
//
// A deployment has one generation counter, <p>gen, which only grows. Every
// user and every client has an epoch: the generation at which all of its
// tokens were last revoked (no key: 0). A token records the generation it
// was issued under, and is dead once its user's or client's epoch is
// higher. So revoking everything of a user or a client is one INCR and one
// write, and no index walk has to find a token for it to die: the walk
// that follows is cleanup.
//
// The generation a token is issued under is read (Generation) before its
// user and client are checked in the database: when the client registry
// loads the client (the password grant checks its user under that one
// too, and once more under a fresh one if the user was revoked since), or
// when an authorization code is issued. A revoker changes the database
// first and bumps the epoch after. So a request that checked the user
// before the change read a generation lower than the bumped epoch, and its
// issue script, which compares the epochs atomically with the write,
// refuses it; a request that checked after the change saw the change.
//
// Atomicity in Redis Cluster: a user's epoch key is in the shard (hash
// tag) of every family of the user (shardOf), so the issue, rotation and
// lookup scripts read it in the slot they write. A client's tokens are in
// every shard, so its epoch is written into every shard (shards keys; a
// client change is rare). A bump returns once every shard has it.

func (s *Store) keyGen() string { return s.prefix + "gen" }

// epochPrefix is the prefix of the epoch keys in shard sh; the scripts
// append "u" + user id or "c" + client id.
func (s *Store) epochPrefix(sh byte) string { return s.prefix + "e{" + string(sh) + "}" }

// epochTTL is how long an epoch key lives after a bump: longer than any
// token issued before it can live, since every family is refused at its
// next rotation after the bump, and a family not rotated expires within
// famTTL.
func (s *Store) epochTTL() time.Duration { return 2 * s.famTTL() }

// Generation returns the current generation, to be read before a user or
// a client is checked in the database (see Checked). Errors:
// ErrUnavailable.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	n, err := s.rdb.Get(ctx, s.keyGen()).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, s.unavailable("generation", err)
	}
	return n, nil
}

// epochCheck is Lua shared by the scripts that rotate and import (issue
// and lookup, which run far more often, write it out):
// epoch(p, kind, id) is the epoch of a user (kind 'u', id the user id), a
// client ('c', the client id), or a user's grant to a client ('p', user
// id .. ':' .. client id) in the shard whose epoch keys start with p;
// refused(p, client, uid, client gen, user gen) is true when the client's
// epoch is above the first generation or (uid not "0") the user's or the
// pair's above the second; revoked(p, client, uid, gen) is refused with
// one generation for both.
const epochCheck = `
local function epoch(p, kind, id)
  return tonumber(redis.call('GET', p .. kind .. id)) or 0
end
local function refused(p, client, uid, cgen, ugen)
  cgen, ugen = tonumber(cgen) or 0, tonumber(ugen) or 0
  return epoch(p, 'c', client) > cgen or uid ~= '0' and (epoch(p, 'u', uid) > ugen or epoch(p, 'p', uid .. ':' .. client) > ugen)
end
local function revoked(p, client, uid, gen)
  return refused(p, client, uid, gen, gen)
end
`

// lookupScript reads a token record, expanded from its family hash when
// it is a family's reference, answering nil for one whose user or client
// was revoked after it was issued, or whose family is gone (see record for
// the layout). The check is epochCheck's revoked, written out: defining
// its functions on every call costs about a tenth of the script, and this
// runs on every introspection the cache does not answer. KEYS and ARGV:
// lookupArgs.
var lookupScript = newScript(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
local head, scope = string.match(v, '^(%d+|%d+|)f(.*)$')
if head then
  local f = redis.call('HMGET', KEYS[2], 'e', 'g', 's')
  if not (f[1] and f[2] and f[3]) then return false end
  if scope == '' then scope = f[3] end
  v = head .. f[1] .. '|' .. f[2] .. scope
end
local gen, uid, c = string.match(v, '^%d+|%d+|(%d+)|(%d+)|([^:]*):')
if not gen then return v end
gen = tonumber(gen)
local p = ARGV[1]
if (tonumber(redis.call('GET', p .. 'c' .. c)) or 0) > gen then return false end
if uid ~= '0' and ((tonumber(redis.call('GET', p .. 'u' .. uid)) or 0) > gen or (tonumber(redis.call('GET', p .. 'p' .. uid .. ':' .. c)) or 0) > gen) then return false end
return v
`)

// lookupArgs are lookupScript's KEYS and ARGV.
type lookupArgs struct {
	key    string // the token's record
	fam    string // its family hash (keyFam), read for a reference
	epochs string // epochPrefix of its shard
}

func (a lookupArgs) build() (keys, argv []string) {
	return []string{a.key, a.fam}, []string{a.epochs}
}

// lookup runs lookupScript as EVALSHA_RO. On NOSCRIPT it loads the
// scripts and asks again; on a connection Redis dropped (a restart, a
// failover) it asks once more on a new one (the command is read-only).
func (s *Store) lookup(ctx context.Context, a lookupArgs) (string, error) {
	keys, argv := a.build()
	loaded, redialled := false, false
	for {
		cmd := s.rc.B().EvalshaRo().Sha1(lookupScript.Hash()).Numkeys(int64(len(keys))).Key(keys...).Arg(argv...).Build()
		v, err := s.rc.Do(ctx, cmd).ToString()
		if err == nil || rueidis.IsRedisNil(err) {
			return v, err
		}
		switch _, reply := rueidis.IsRedisErr(err); {
		case reply && strings.HasPrefix(err.Error(), "NOSCRIPT") && !loaded:
			loaded = true
			if err := s.loadScripts(ctx); err != nil {
				return "", err
			}
		case !reply && !redialled && ctx.Err() == nil:
			redialled = true
		default:
			return "", err
		}
	}
}

// bumpScript raises an epoch to a generation (never lowers it), and gives
// it epochTTL. For a user it may also stamp one family, or one access
// token, with the new generation, so that it survives the bump (a
// password change keeps the caller's token), in the same step: no rotation
// can come between. KEYS and ARGV: bumpArgs.
var bumpScript = newScript(`
local gen = ARGV[1]
local cur = tonumber(redis.call('GET', KEYS[1])) or 0
if cur > tonumber(gen) then gen = string.format('%d', cur) end
redis.call('SET', KEYS[1], gen, 'PX', ARGV[2])
local function stamp(key)
  local v = redis.call('GET', key)
  if not v then return end
  local head, uid, rest = string.match(v, '^(%d+|%d+|)%d+|(%d+)(|.*)$')
  if head and uid == ARGV[7] then redis.call('SET', key, head .. ARGV[1] .. '|' .. uid .. rest, 'KEEPTTL') end
end
if ARGV[3] ~= '' then
  local f = redis.call('HMGET', ARGV[3], 'a', 'r', 'u')
  if f[1] and f[3] == ARGV[7] then
    redis.call('HSET', ARGV[3], 'e', ARGV[1])
    stamp(ARGV[4] .. f[1])
    if f[2] then stamp(ARGV[5] .. f[2]) end
  end
end
if ARGV[6] ~= '' then stamp(ARGV[6]) end
return 1
`)

// bumpArgs are bumpScript's KEYS and ARGV.
type bumpArgs struct {
	epoch string // the epoch key
	gen   int64
	ttl   time.Duration
	// keepFam, keepAT and keepRT are the family hash and the key prefixes
	// of the family to stamp; keepAccess an access record to stamp (a
	// token with no family hash); all "" for none. keepUser is the user
	// whose token it must be.
	keepFam, keepAT, keepRT, keepAccess string
	keepUser                            int64
}

func (a bumpArgs) build() ([]string, []any) {
	return []string{a.epoch}, []any{a.gen, a.ttl.Milliseconds(), a.keepFam, a.keepAT, a.keepRT, a.keepAccess, a.keepUser}
}

// bump takes a new generation and raises the epoch of a user (kind "u"),
// a user's grant to a client ("p", id pairID) or a client ("c") to it, in
// one shard (a user's) or in all (a client's). keep applies to a user (see
// bumpArgs).
func (s *Store) bump(ctx context.Context, kind, id string, shardList []byte, keep bumpArgs) error {
	gen, err := s.rdb.Incr(ctx, s.keyGen()).Result()
	if err != nil {
		return s.unavailable("bump", err)
	}
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, sh := range shardList {
			a := keep
			a.epoch, a.gen, a.ttl = s.epochPrefix(sh)+kind+id, gen, s.epochTTL()
			keys, argv := a.build()
			bumpScript.EvalSha(ctx, p, keys, argv...)
		}
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return s.unavailable("bump", err)
	}
	return nil
}
