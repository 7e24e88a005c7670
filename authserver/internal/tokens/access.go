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
// the key layout in token.go). KEYS and ARGV: issueArgs.
var issueScript = newScript(epochCheck + `
if refused(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then return 0 end
redis.call('SET', KEYS[1], ARGV[6], 'PX', ARGV[7])
if #KEYS == 3 then
  redis.call('SET', KEYS[2], ARGV[8], 'PX', ARGV[9])
  redis.call('HSET', KEYS[3], 'c', ARGV[2], 'u', ARGV[3], 'e', ARGV[10], 'a', ARGV[11], 'r', ARGV[12], 'x', ARGV[13], 'g', ARGV[14], 's', ARGV[15])
  redis.call('PEXPIRE', KEYS[3], ARGV[16])
end
return 1
`)

// issueArgs are issueScript's KEYS and ARGV.
type issueArgs struct {
	epochs  string // epochPrefix of the family's shard
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

func (a issueArgs) build() ([]string, []any) {
	keys := []string{a.access}
	argv := []any{a.epochs, a.grant.ClientID, a.grant.UserID, a.grant.Checked.Client, a.grant.Checked.User, a.atVal, a.atTTL.Milliseconds()}
	if a.refresh {
		keys = append(keys, a.rt, a.fam)
		argv = append(argv, a.rtVal, a.rtTTL.Milliseconds(), a.gen, a.atH, a.rtH, a.horizon.UnixMilli(), a.body, a.grant.Scope, a.famTTL.Milliseconds())
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
	var issued *redis.Cmd
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		registered = s.queueIndex(ctx, p, g, member, famExp)
		issued = issueScript.EvalSha(ctx, p, keys, argv...)
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return grant.Issued{}, s.unavailable("issue", err)
	}
	s.known.add(registered, s.now())
	if n, _ := issued.Int64(); n != 1 {
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
	a = issueArgs{epochs: s.epochPrefix(fam[0]), grant: g, access: s.keyAT(fam, atH), atTTL: s.life.Access,
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
// when it is in the access-token cache (a malformed token costs none).
// Errors: ErrNotFound, ErrUnavailable.
func (s *Store) LookupAccess(ctx context.Context, token string) (grant.Access, error) {
	fam, h, err := s.locate(ctx, token, accessPrefix)
	if err != nil {
		return grant.Access{}, err
	}
	rec, hit := s.cache.get(h)
	if hit && !rec.ExpiresAt.After(s.now()) {
		return grant.Access{}, grant.ErrNotFound
	}
	if !hit {
		gen, cacheable := s.cache.begin()
		if rec, err = s.get(ctx, "lookup access", fam, s.keyAT(fam, h)); err != nil {
			return grant.Access{}, err
		}
		if cacheable {
			s.cache.add(gen, h, rec)
		}
	}
	return grant.Access{Grant: rec.Grant, Family: fam, IssuedAt: rec.IssuedAt, ExpiresAt: rec.ExpiresAt}, nil
}
