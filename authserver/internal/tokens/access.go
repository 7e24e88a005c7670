package tokens

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
)

// Access tokens: issue (with a refresh family, or alone) and lookup.

// Issue starts a new family: an access token and, when withRefresh, a
// refresh token, unless g's user or client was revoked after g.Checked
// (ErrRevoked, nothing issued). It takes one round trip; the user and
// client indexes are written in it before the tokens. Errors: ErrRevoked,
// ErrUnavailable.
func (s *Store) Issue(ctx context.Context, g grant.Grant, withRefresh bool) (grant.Issued, error) {
	if s.life.Access <= 0 || withRefresh && s.life.Refresh <= 0 {
		return grant.Issued{}, errors.New("tokens: issue: lifetimes must be positive")
	}
	fam, err := newFamily(shardOf(g))
	if err != nil {
		return grant.Issued{}, err
	}
	return s.issueIn(ctx, g, withRefresh, fam)
}

// issueScript writes a new family, all or none, unless the grant's user or
// client was revoked since it was checked (reply 0). An access token alone
// is one key; with a refresh token, the family hash is written too (see
// the key layout in token.go). The caller knows the grant, so it names the
// epoch keys to compare (KEYS[1..ne]: the client's, then for a grant with
// a user the user's and the pair's): the script builds no key, defines no
// function, and a client_credentials issue reads one epoch. The checks
// are epochCheck's refused, written out: this runs on every issue.
// KEYS and ARGV: issueArgs.
var issueScript = newScript(`
local ne = tonumber(ARGV[1])
if (tonumber(redis.call('GET', KEYS[1])) or 0) > tonumber(ARGV[2]) then return 0 end
if ne == 3 then
  local ugen = tonumber(ARGV[3])
  if (tonumber(redis.call('GET', KEYS[2])) or 0) > ugen or (tonumber(redis.call('GET', KEYS[3])) or 0) > ugen then return 0 end
end
redis.call('SET', KEYS[ne + 1], ARGV[4], 'PX', ARGV[5])
if #KEYS == ne + 3 then
  redis.call('SET', KEYS[ne + 2], ARGV[6], 'PX', ARGV[7])
  redis.call('HSET', KEYS[ne + 3], 'c', ARGV[8], 'u', ARGV[9], 'e', ARGV[10], 'a', ARGV[11], 'r', ARGV[12], 'x', ARGV[13], 'g', ARGV[14], 's', ARGV[15])
  redis.call('PEXPIRE', KEYS[ne + 3], ARGV[16])
end
return 1
`)

// epochKeys names the epochs an issue of g in shard sh compares: the
// client's and, when g has a user, the user's and the user's grant to
// the client's (see epoch.go).
func (s *Store) epochKeys(sh byte, g grant.Grant) []string {
	p := s.epochPrefix(sh)
	if g.UserID == 0 {
		return []string{p + "c" + g.ClientID}
	}
	uid := strconv.FormatInt(g.UserID, 10)
	return []string{p + "c" + g.ClientID, p + "u" + uid, p + "p" + uid + ":" + g.ClientID}
}

// issueArgs are issueScript's KEYS and ARGV.
type issueArgs struct {
	epochs  []string // epochKeys of the grant in the family's shard
	grant   grant.Grant
	access  string // access key
	atVal   string
	atTTL   time.Duration
	refresh bool
	rt, fam string // refresh key and family hash, when refresh
	rtVal   string
	rtTTL   time.Duration
	famTTL  time.Duration
	atH     string // the access and refresh hashes (keyHash)
	rtH     string
	horizon time.Time // of the family's index entries
	body    string    // the grant body (appendGrantBody)
	gen     int64     // recorded in the family
}

func (a issueArgs) build() (keys, argv []string) {
	keys = append(make([]string, 0, len(a.epochs)+3), a.epochs...)
	keys = append(keys, a.access)
	argv = make([]string, 5, 16)
	argv[0], argv[1], argv[2], argv[3], argv[4] = strconv.Itoa(len(a.epochs)), strconv.FormatInt(a.grant.Checked.Client, 10),
		strconv.FormatInt(a.grant.Checked.User, 10), a.atVal, strconv.FormatInt(a.atTTL.Milliseconds(), 10)
	if a.refresh {
		keys = append(keys, a.rt, a.fam)
		argv = append(argv, a.rtVal, strconv.FormatInt(a.rtTTL.Milliseconds(), 10), a.grant.ClientID, strconv.FormatInt(a.grant.UserID, 10),
			strconv.FormatInt(a.gen, 10), a.atH, a.rtH, strconv.FormatInt(a.horizon.UnixMilli(), 10), a.body, a.grant.Scope,
			strconv.FormatInt(a.famTTL.Milliseconds(), 10))
	}
	return keys, argv
}

// issueIn is Issue in a given family (an authorization code reserves its
// family in advance, so that a replay can revoke what it produced).
func (s *Store) issueIn(ctx context.Context, g grant.Grant, withRefresh bool, fam string) (grant.Issued, error) {
	a, out, member, famExp, err := s.prepareIssue(g, withRefresh, fam)
	if err != nil {
		return grant.Issued{}, err
	}
	keys, argv := a.build()
	var registered []string
	res, err := s.doMulti(ctx, func() rueidis.Commands {
		var cmds rueidis.Commands
		cmds, registered = s.indexCmds(g, member, famExp)
		return append(cmds, s.evalsha(issueScript, keys, argv))
	})
	if err != nil {
		return grant.Issued{}, s.unavailable("issue", err)
	}
	s.known.add(registered, s.now())
	if n, _ := res[len(res)-1].AsInt64(); n != 1 {
		return grant.Issued{}, grant.ErrRevoked
	}
	return out, nil
}

// prepareIssue makes the tokens of an issue in family fam, and the
// arguments of its script; member and famExp are its index entry.
func (s *Store) prepareIssue(g grant.Grant, withRefresh bool, fam string) (a issueArgs, out grant.Issued, member string, famExp time.Time, err error) {
	if strings.IndexByte(g.ClientID, ':') >= 0 {
		return a, out, "", famExp, errClientID
	}
	at, err := newToken(accessPrefix, fam)
	if err != nil {
		return a, out, "", famExp, err
	}
	now := s.now().Truncate(time.Second)
	out = grant.Issued{AccessToken: at, AccessExpiresAt: now.Add(s.life.Access), Family: fam, Scope: g.Scope}
	atH := keyHash(at)
	gen := g.Checked.Gen()
	a = issueArgs{epochs: s.epochKeys(fam[0], g), grant: g, access: s.keyAT(fam, atH), atTTL: s.life.Access,
		atVal: encodeRecord(record{Grant: g, Gen: gen, IssuedAt: now, ExpiresAt: out.AccessExpiresAt})}
	member, famExp = accessMember(fam, atH), out.AccessExpiresAt
	if withRefresh {
		rt, err := newToken(refreshPrefix, fam)
		if err != nil {
			return a, out, "", famExp, err
		}
		out.RefreshToken, out.RefreshExpiresAt = rt, now.Add(s.life.Refresh)
		rtH := keyHash(rt)
		// The family's index entries are set to outlive it twice over,
		// so that rotations within the next famTTL need not touch the
		// indexes; the horizon is kept in the family hash ('x').
		member, famExp = fam, s.indexHorizon()
		a.refresh, a.rt, a.fam, a.rtTTL, a.famTTL = true, s.keyRT(fam, rtH), s.keyFam(fam), s.life.Refresh, s.famTTL()
		a.atVal, a.rtVal = familyRecord(now, out.AccessExpiresAt), familyRecord(now, out.RefreshExpiresAt)
		a.atH, a.rtH, a.horizon, a.body, a.gen = atH, rtH, famExp, string(appendGrantBody(nil, g)), gen
	}
	return a, out, member, famExp, nil
}

// indexHorizon is how long a refresh family's index entries are made to
// live: twice the family's own lifetime from now. Rotate raises them only
// once a family could outlive them.
func (s *Store) indexHorizon() time.Time { return s.now().Add(2 * s.famTTL()) }

// get reads one record in one round trip; ErrNotFound when the key is
// absent or expired, or its user or client was revoked after it was issued.
func (s *Store) get(ctx context.Context, op, fam, key string) (record, error) {
	v, err := s.lookup(ctx, lookupArgs{key: key, fam: s.keyFam(fam), epochs: s.epochPrefix(fam[0])})
	if rueidis.IsRedisNil(err) {
		return record{}, grant.ErrNotFound
	}
	if err != nil {
		return record{}, s.unavailable(op, err)
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return record{}, fmt.Errorf("tokens: %s: %w", op, err)
	}
	if !rec.ExpiresAt.After(s.now()) {
		return record{}, grant.ErrNotFound
	}
	return rec, nil
}

// LookupAccess returns a live access token in one Redis round trip, or none
// when it is in the access-token cache (a malformed token costs none). A
// token past its expiry is not live, even in the second before Redis drops
// its key. Errors: ErrNotFound, ErrUnavailable.
func (s *Store) LookupAccess(ctx context.Context, token string) (grant.Access, error) {
	fam, h, err := s.locate(ctx, token, accessPrefix)
	if err != nil {
		return grant.Access{}, err
	}
	rec, hit := s.cache.get(h)
	if !hit {
		gen, cacheable := s.cache.begin()
		if rec, err = s.get(ctx, "lookup access", fam, s.keyAT(fam, h)); err != nil {
			return grant.Access{}, err
		}
		if cacheable {
			s.cache.add(gen, h, rec)
		}
	}
	if !rec.ExpiresAt.After(s.now()) {
		return grant.Access{}, grant.ErrNotFound
	}
	return grant.Access{Grant: rec.Grant, Family: fam, IssuedAt: rec.IssuedAt, ExpiresAt: rec.ExpiresAt}, nil
}
