package tokens

import (
	"context"
	"errors"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"
)

// Imported tokens. Tokens moved from another server (Django OAuth Toolkit:
// 30 characters of [A-Za-z0-9]) keep their text, which carries no family
// id. Import puts each pair in a new family, as Issue does, and writes one
// more key per token, through which a lookup finds the family:
//
//	<p>A<H>  the family id of imported access token H (key form), TTL =
//	         the access token's remaining lifetime
//	<p>R<H>  the same for an imported refresh token, TTL = its lifetime
//
// An alias outlives its token's rotation or revocation, so a replayed
// refresh token still finds its family's tombstones, and a second import
// of the same token changes nothing. After an import a family rotates, is
// replayed and is revoked exactly as one issued here: the family hash names
// the imported access token as its current one, so the first rotation
// deletes it.

// maxForeignTokenLen is the longest foreign token looked up (DOT's column
// is 255 characters).
const maxForeignTokenLen = 255

// isForeign reports whether token may be an imported token: at most
// maxForeignTokenLen letters and digits, the alphabet of oauthlib's
// generate_token that DOT uses. None of ours has that shape (their type
// prefix ends in '_'), and anything else stays malformed, costing no
// Redis read.
func isForeign(token string) bool {
	if token == "" || len(token) > maxForeignTokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Alias kinds: the letter after the prefix.
const (
	aliasAccess  = "A"
	aliasRefresh = "R"
)

func (s *Store) keyAlias(kind, h string) string { return s.prefix + kind + h }

// tokenKey finds the family and key-form hash of a token of the given type:
// from its text for one of ours, through its alias for an imported one (one
// GET). ok is false for an unknown or malformed token. Errors:
// ErrUnavailable.
func (s *Store) tokenKey(ctx context.Context, token, prefix string) (fam, h string, ok bool, err error) {
	if fam, h, ok := parseToken(token, prefix); ok || !isForeign(token) {
		return fam, h, ok, nil
	}
	kind := aliasAccess
	if prefix == refreshPrefix {
		kind = aliasRefresh
	}
	h = keyHash(token)
	fam, err = s.rdb.Get(ctx, s.keyAlias(kind, h)).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, s.unavailable("token alias", err)
	}
	return fam, h, len(fam) == famLen, nil
}

// Imported is one live token pair from another server, as plaintext. Only
// its hashes are stored. AccessToken is "" when only the refresh token is
// live, RefreshToken "" when the access token came alone.
type Imported struct {
	Grant
	AccessToken     string
	AccessIssuedAt  time.Time
	AccessExpiresAt time.Time
	RefreshToken    string
	RefreshIssuedAt time.Time
}

// ErrNotImportable is returned by Import for a pair it cannot store: no
// token, a token in Portcullis's own format, or an access token already
// expired.
var ErrNotImportable = errors.New("tokens: import: not an importable token pair")

// importScript writes an imported family with a refresh token: its
// access key (unless ARGV 1 is ""), refresh key and family hash. KEYS: at,
// rt, fam. ARGV as issueScript's.
var importScript = newScript(`
if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('HSET', KEYS[3], 'c', ARGV[6], 'a', ARGV[7], 'h', ARGV[12], 'k', ARGV[7], 'r', ARGV[8], 'x', ARGV[9], 'g', ARGV[10], 's', ARGV[11])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
`)

// Import stores an imported token pair in a new family, keeping its access
// token's expiry (to the second); an imported refresh token expires after
// the Store's refresh lifetime, counted from now. It is idempotent: a pair
// imported before (even if since rotated, revoked or expired here) is left
// alone and created is false. With dryRun nothing is written and created
// says whether it would be. The family's keys, its index entries and the
// aliases go in one round trip, the aliases last: a failure in between
// leaves at most an unreachable family, which expires, and the pair to the
// next run. Errors: ErrNotImportable, ErrUnavailable.
func (s *Store) Import(ctx context.Context, t Imported, dryRun bool) (created bool, err error) {
	now := s.now()
	atExp := t.AccessExpiresAt.Truncate(time.Second)
	if t.AccessToken == "" && t.RefreshToken == "" ||
		t.AccessToken != "" && (!isForeign(t.AccessToken) || atExp.Sub(now) < time.Second) ||
		t.RefreshToken != "" && (!isForeign(t.RefreshToken) || s.life.Refresh <= 0) {
		return false, ErrNotImportable
	}
	// The refresh token's alias says whether the pair came before; for an
	// access token alone, its own.
	atH, atHex := "", ""
	if t.AccessToken != "" {
		atH, atHex = hashForms(t.AccessToken)
	}
	rtH := ""
	seen := s.keyAlias(aliasAccess, atH)
	if t.RefreshToken != "" {
		rtH = keyHash(t.RefreshToken)
		seen = s.keyAlias(aliasRefresh, rtH)
	}
	n, err := s.rdb.Exists(ctx, seen).Result()
	if err != nil {
		return false, s.unavailable("import", err)
	}
	if n == 1 || dryRun {
		return n == 0, nil
	}
	fam, err := newFamily()
	if err != nil {
		return false, err
	}
	atTTL := atExp.Sub(now)
	atVal := ""
	if t.AccessToken != "" {
		atVal = encodeRecord(record{Grant: t.Grant, IssuedAt: t.AccessIssuedAt, ExpiresAt: atExp})
	}
	var registered []string
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		if t.RefreshToken == "" {
			// An access token alone, indexed as F+H until it expires.
			registered = s.queueIndex(ctx, p, t.Grant, fam+atH, atExp)
			p.Set(ctx, s.keyAT(fam, atH), atVal, atTTL)
			p.Set(ctx, s.keyAlias(aliasAccess, atH), fam, atTTL)
			return
		}
		// A family, indexed as F up to its horizon. With no live access
		// token, the family names a hash no token has, so that the first
		// rotation deletes nothing and names no real token.
		if t.AccessToken == "" {
			atH, atHex = hashForms("portcullis-import\x00none\x00" + t.RefreshToken)
		}
		rtTTL := s.life.Refresh
		famTTL := max(atTTL, rtTTL)
		horizon := now.Add(2 * famTTL)
		rtVal := encodeRecord(record{Grant: t.Grant, IssuedAt: t.RefreshIssuedAt, ExpiresAt: now.Truncate(time.Second).Add(rtTTL)})
		registered = s.queueIndex(ctx, p, t.Grant, fam, horizon)
		importScript.EvalSha(ctx, p, []string{s.keyAT(fam, atH), s.keyRT(fam, rtH), s.keyFam(fam)},
			atVal, atTTL.Milliseconds(), rtVal, rtTTL.Milliseconds(), famTTL.Milliseconds(), t.ClientID, atH, rtH,
			horizon.UnixMilli(), string(appendGrantBody(nil, t.Grant)), t.Scope, atHex)
		if t.AccessToken != "" {
			p.Set(ctx, s.keyAlias(aliasAccess, atH), fam, atTTL)
		}
		p.Set(ctx, s.keyAlias(aliasRefresh, rtH), fam, rtTTL)
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return false, s.unavailable("import", err)
	}
	s.known.add(registered, now)
	return true, nil
}
