package tokens

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// Refresh tokens: lookup and rotation (RFC 6749 §6, RFC 9700 §4.14).

// LookupRefresh returns a live refresh token in one round trip. Errors:
// ErrNotFound, ErrUnavailable.
func (s *Store) LookupRefresh(ctx context.Context, token string) (grant.Refresh, error) {
	fam, h, err := s.locate(ctx, token, refreshPrefix)
	if err != nil {
		return grant.Refresh{}, err
	}
	rec, err := s.get(ctx, "lookup refresh", fam, s.keyRT(fam, h))
	if err != nil {
		return grant.Refresh{}, err
	}
	return grant.Refresh{Grant: rec.Grant, Family: fam, IssuedAt: rec.IssuedAt, ExpiresAt: rec.ExpiresAt}, nil
}

// Rotate atomically consumes refreshToken (which must belong to clientID)
// and issues a new access and refresh token in the same family with scope
// newScope ("" means the family's scope; a scope wider than what the family
// was first granted gives ErrScope and changes nothing). The previous
// access token of the family is deleted by the same script, and its
// revocation published with the next batch of rotation events (at most
// rotationWindow later, rotations.go). Exactly one of many concurrent calls with the same token
// succeeds; the others get ErrNotFound. A token rotated away earlier (more
// than the reuse grace ago) gives ErrReplayed and revokes the family.
// A refresh token of another client gives ErrNotFound and changes nothing;
// a family whose user or client was revoked after it was issued
// (epoch.go) gives ErrNotFound and is deleted.
// One round trip; a second, about once per family lifetime, when the family
// reaches the horizon of its index entries and they must be raised.
// Errors: ErrNotFound, ErrReplayed, ErrScope, ErrUnavailable.
func (s *Store) Rotate(ctx context.Context, refreshToken, clientID, newScope string) (grant.Issued, error) {
	fam, h, err := s.locate(ctx, refreshToken, refreshPrefix)
	if err != nil {
		return grant.Issued{}, err
	}
	if newScope != "" { // the script compares words: give it a clean set
		asked, err := scope.Parse(newScope)
		if err != nil {
			return grant.Issued{}, grant.ErrScope
		}
		newScope = asked.String()
	}
	a, out, err := s.prepareRotate(fam, h, clientID, newScope)
	if err != nil {
		return grant.Issued{}, err
	}
	atH, rtH := a.newATH, a.newRTH
	res, err := s.runRotate(ctx, a)
	if err != nil {
		return grant.Issued{}, err
	}
	switch res[0] {
	case "ok":
		if len(res) != 6 {
			return grant.Issued{}, fmt.Errorf("tokens: rotate: bad script reply")
		}
		out.Scope = res[1]
		s.cache.evict(res[2]) // the access cache holds no refresh token
		s.rotations.add(res[2], h)
		s.revoked(revocation.ReasonRotation)
		if res[3] == "1" {
			s.extend(ctx, fam, atH, rtH, res[4], res[5], out)
		}
		return out, nil
	case "scope":
		return grant.Issued{}, grant.ErrScope
	case "replayed", "revoked":
		if len(res) < 4 {
			return grant.Issued{}, fmt.Errorf("tokens: rotate: bad script reply")
		}
		s.pruneLater(ctx, familyEntry(fam, res[1], res[2], res[3]))
		if res[0] == "revoked" {
			return grant.Issued{}, grant.ErrNotFound
		}
		if err := s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: res[4:], Reason: revocation.ReasonReplay}); err != nil {
			return grant.Issued{}, fmt.Errorf("%w (%w)", grant.ErrReplayed, err)
		}
		return grant.Issued{}, grant.ErrReplayed
	default: // "notfound", "race"
		return grant.Issued{}, grant.ErrNotFound
	}
}

// prepareRotate makes the tokens of a rotation of family fam, whose
// refresh token presented has hash h, and the arguments of its script.
func (s *Store) prepareRotate(fam, h, clientID, newScope string) (rotateArgs, grant.Issued, error) {
	now := s.now()
	iat := now.Truncate(time.Second)
	at, err := newToken(accessPrefix, fam)
	if err != nil {
		return rotateArgs{}, grant.Issued{}, err
	}
	rt, err := newToken(refreshPrefix, fam)
	if err != nil {
		return rotateArgs{}, grant.Issued{}, err
	}
	out := grant.Issued{
		AccessToken: at, AccessExpiresAt: iat.Add(s.life.Access),
		RefreshToken: rt, RefreshExpiresAt: iat.Add(s.life.Refresh),
		Family: fam,
	}
	atH, rtH := keyHash(at), keyHash(rt)
	a := rotateArgs{
		fam: s.keyFam(fam), presented: s.keyRT(fam, h), tomb: s.keyTomb(fam), newAT: s.keyAT(fam, atH), newRT: s.keyRT(fam, rtH),
		presentedH: h, clientID: clientID, now: now, grace: s.grace, newATH: atH, newRTH: rtH,
		atHead: string(appendTimes(nil, iat, out.AccessExpiresAt)), rtHead: string(appendTimes(nil, iat, out.RefreshExpiresAt)),
		scope: newScope, atTTL: s.life.Access, rtTTL: s.life.Refresh, famTTL: s.famTTL(),
		atPrefix: s.keyAT(fam, ""), rtPrefix: s.keyRT(fam, ""), epochs: s.epochPrefix(fam[0]),
	}
	// Trimming the tombstones costs a command; once in trimEvery rotations
	// keeps them near maxTombstones.
	if rand.N(trimEvery) == 0 {
		a.trim = maxTombstones
	}
	return a, out, nil
}

// runRotate runs rotateScript; its reply has at least one element.
func (s *Store) runRotate(ctx context.Context, a rotateArgs) ([]string, error) {
	keys, argv := a.build()
	var rot *redis.Cmd
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		rot = rotateScript.EvalSha(ctx, p, keys, argv...)
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return nil, s.unavailable("rotate", err)
	}
	res, err := rot.StringSlice()
	if err != nil {
		return nil, s.unavailable("rotate", err)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("tokens: rotate: empty script reply")
	}
	return res, nil
}

// extend raises the index entries of a family that reached their horizon
// (puts the family into the buckets of a new horizon; see indexCmds),
// then, once they are raised, gives the family's keys their full lifetime
// back (the rotation capped them at the old horizon, so that the family
// never outlives its index entries) and takes the family from the buckets
// of the old horizon, so that one bucket per index holds it (the one
// pruneLater prunes). body is the family's grant body, which names its
// indexes; old the old horizon (Unix ms). It runs to the end even if the caller goes
// away. A failure is left for the family's next rotation, which asks
// again: the tokens just issued stand, living no longer than the old
// horizon until then.
func (s *Store) extend(ctx context.Context, fam, atH, rtH, body, old string, out grant.Issued) {
	ctx = context.WithoutCancel(ctx)
	rec, err := decodeRecord(string(appendTimes(nil, out.AccessExpiresAt, out.AccessExpiresAt)) + "0|" + body)
	if err != nil {
		return
	}
	horizon := s.indexHorizon()
	var registered []string
	_, err = s.doMulti(ctx, func() rueidis.Commands {
		var cmds rueidis.Commands
		cmds, registered = s.indexCmds(rec.Grant, fam, horizon)
		return cmds
	})
	if err != nil {
		s.known.forget()
		return
	}
	s.known.add(registered, s.now())
	famExp := s.now().Add(s.famTTL())
	keys, argv := extendArgs{fam: s.keyFam(fam), tomb: s.keyTomb(fam), at: s.keyAT(fam, atH), rt: s.keyRT(fam, rtH),
		horizon: horizon, famExp: famExp, atExp: out.AccessExpiresAt, rtExp: out.RefreshExpiresAt}.build()
	_, _ = s.doMulti(ctx, func() rueidis.Commands {
		cmds := rueidis.Commands{s.evalsha(extendScript, keys, argv)}
		if e := familyEntry(fam, old, rec.ClientID, strconv.FormatInt(rec.UserID, 10)); bucketOf(e.end) != bucketOf(horizon) {
			cmds = append(cmds, s.pruneCmds([]indexEntry{e})...)
		}
		return cmds
	})
}

// rotateScript consumes a refresh token in one round trip. Replies:
//
//	{"ok", scope, old access hash, bump, grant body, horizon}  rotated;
//	    bump is "1" when the family now reaches its index horizon (Unix
//	    ms): its keys then live no longer than the index entries until
//	    Rotate raises them
//	{"scope"}     the asked scope is wider than the family's: nothing changed
//	{"notfound"}  unknown, or another client's
//	{"revoked", horizon, client, uid}  the family's user or client was
//	    revoked after it was issued (epoch.go): the family is deleted
//	{"race"}      rotated away within the grace period: a concurrent loser
//	{"replayed", horizon, client, uid, h...}  rotated away earlier:
//	    family revoked; h are the deleted keys' hashes
//
// A deleted family's index entries (in the bucket of its horizon, in the
// indexes of its client and user) are pruned (pruneLater).
//
// New records are references to the family (head .. "f" .. the asked
// scope, see record); they keep the generation the family was issued
// under. The rotation's event is not the script's: Rotate hands the
// rotated-away tokens' hashes to the batch of rotation events
// (rotations.go).
// KEYS and ARGV: rotateArgs.
var rotateScript = newScript(epochCheck + `
local f = redis.call('HMGET', KEYS[1], 'c', 'r', 'a', 'x', 'g', 's', 'u', 'e')
local c, r, a = f[1], f[2], f[3]
if (not c) or c ~= ARGV[2] then return {'notfound'} end
if r == ARGV[1] and a and redis.call('EXISTS', KEYS[2]) == 1 then
  local g, s, e = f[5], f[6], f[8]
  if revoked(ARGV[16], c, f[7], e) then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], ARGV[14] .. a)
    return {'revoked', f[4] or '0', c, f[7] or '0'}
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
  redis.call('SET', KEYS[4], ARGV[7] .. 'f' .. ARGV[9], 'PX', atTTL)
  redis.call('SET', KEYS[5], ARGV[8] .. 'f', 'PX', rtTTL)
  redis.call('HSET', KEYS[1], 'a', ARGV[5], 'r', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], famTTL)
  redis.call('PEXPIRE', KEYS[3], famTTL)
  return {'ok', scope, a, bump, g, f[4] or '0'}
end
local ts = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not ts then return {'notfound'} end
if tonumber(ARGV[3]) - tonumber(ts) < tonumber(ARGV[4]) then return {'race'} end
local out = {'replayed', f[4] or '0', c, f[7] or '0'}
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
	newATH, newRTH                     string
	atHead, rtHead                     string // appendTimes of the new records
	scope                              string // asked, already parsed; "" = the family's
	atTTL, rtTTL, famTTL               time.Duration
	trim                               int // trim the tombstones to this many; 0 = not now
	atPrefix, rtPrefix                 string
	epochs                             string // epochPrefix of the family's shard
}

func (a rotateArgs) build() ([]string, []any) {
	return []string{a.fam, a.presented, a.tomb, a.newAT, a.newRT},
		[]any{a.presentedH, a.clientID, a.now.UnixMilli(), a.grace.Milliseconds(), a.newATH, a.newRTH,
			a.atHead, a.rtHead, a.scope, a.atTTL.Milliseconds(), a.rtTTL.Milliseconds(), a.famTTL.Milliseconds(), a.trim,
			a.atPrefix, a.rtPrefix, a.epochs}
}

// extendScript gives a family that reached its index horizon its full
// lifetime back, once Rotate has raised the index entries: it records the
// new horizon and sets the expiry of every key the rotation capped. It does
// nothing to a family that is gone (revoked meanwhile).
// KEYS and ARGV: extendArgs.
var extendScript = newScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'x', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
redis.call('PEXPIREAT', KEYS[3], ARGV[3])
redis.call('PEXPIREAT', KEYS[4], ARGV[4])
return 1
`)

// extendArgs are extendScript's KEYS and ARGV.
type extendArgs struct {
	fam, tomb, at, rt    string // keys
	horizon              time.Time
	famExp, atExp, rtExp time.Time
}

func (a extendArgs) build() (keys, argv []string) {
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	return []string{a.fam, a.tomb, a.at, a.rt}, []string{ms(a.horizon), ms(a.famExp), ms(a.atExp), ms(a.rtExp)}
}
