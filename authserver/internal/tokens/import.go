package tokens

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"
)

// Imported tokens. Tokens moved from another server (Django OAuth Toolkit:
// 30 characters of [A-Za-z0-9]) keep their text, which carries no family id.
// Their family id is derived from the text instead:
//
//	F = first famLen characters of base64url(SHA-256("portcullis-import\x00" + token))
//
// taken from the access token when the pair has a live one (so that looking
// up the access token finds its family from its text alone, as for ours),
// else from the refresh token. A refresh token's family is found through
// one more key, written by Import:
//
//	<p>R<H>  the family id of imported refresh token H (key form), TTL =
//	         the refresh token's lifetime; it outlives a rotation, so a
//	         replay of the old token still finds its family's tombstones
//	<p>i{F}  an imported family's marker, TTL = the family's lifetime: a
//	         second import of the same tokens changes nothing, even after
//	         they were rotated or revoked here
//
// After an import, an imported family rotates, is replayed and is revoked
// exactly as one issued here: the family hash names the imported access
// token as its current one, so the first rotation deletes it.
const importDomain = "portcullis-import\x00"

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

// importedFamily is the family id of an imported token's family when the
// family is named after token (see above).
func importedFamily(token string) string {
	sum := sha256.Sum256([]byte(importDomain + token))
	return b64.EncodeToString(sum[:])[:famLen]
}

func (s *Store) keyAlias(h string) string    { return s.prefix + "R" + h }
func (s *Store) keyMarker(fam string) string { return s.prefix + "i{" + fam + "}" }

// refreshKey finds the family and key-form hash of a refresh token: from
// its text for one of ours, through its alias key for an imported one (one
// GET). ok is false for an unknown or malformed token. Errors:
// ErrUnavailable.
func (s *Store) refreshKey(ctx context.Context, token string) (fam, h string, ok bool, err error) {
	if fam, h, ok := parseToken(token, refreshPrefix); ok || !isForeign(token) {
		return fam, h, ok, nil
	}
	h = keyHash(token)
	fam, err = s.rdb.Get(ctx, s.keyAlias(h)).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, s.unavailable("refresh alias", err)
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

// importScript writes an imported family, all or none, unless its marker
// says it was written before. KEYS: marker, at, rt, fam. ARGV: 1 marker
// TTL ms, 2 atVal ("" = no access token), 3 atTTLms, 4 rtVal ("" = no
// refresh token), 5 rtTTLms, 6 client, 7 atH, 8 rtH, 9 horizon, 10 grant
// body, 11 scope, 12 atH in hex, 13 famTTLms. Reply: 1 written, 0 already
// there.
var importScript = newScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5])
  redis.call('HSET', KEYS[4], 'c', ARGV[6], 'a', ARGV[7], 'h', ARGV[12], 'k', ARGV[7], 'r', ARGV[8], 'x', ARGV[9], 'g', ARGV[10], 's', ARGV[11])
  redis.call('PEXPIRE', KEYS[4], ARGV[13])
end
return 1
`)

// Import stores an imported token pair, keeping its access token's expiry
// (to the second); an imported refresh token expires after the Store's
// refresh lifetime, counted from now. It is idempotent: a pair imported
// before (even if since rotated, revoked or expired here) is left alone and
// created is false. With dryRun nothing is written and created says whether
// it would be. Errors: ErrNotImportable, ErrUnavailable.
func (s *Store) Import(ctx context.Context, t Imported, dryRun bool) (created bool, err error) {
	now := s.now()
	if t.AccessToken == "" && t.RefreshToken == "" ||
		t.AccessToken != "" && (!isForeign(t.AccessToken) || t.AccessExpiresAt.Truncate(time.Second).Sub(now) < time.Second) ||
		t.RefreshToken != "" && (!isForeign(t.RefreshToken) || s.life.Refresh <= 0) {
		return false, ErrNotImportable
	}
	fam := importedFamily(t.AccessToken)
	if t.AccessToken == "" {
		fam = importedFamily(t.RefreshToken)
	}
	var rtH string
	if t.RefreshToken != "" {
		rtH = keyHash(t.RefreshToken)
		n, err := s.rdb.Exists(ctx, s.keyAlias(rtH)).Result()
		if err != nil {
			return false, s.unavailable("import", err)
		}
		if n == 1 {
			return false, nil
		}
	}
	if dryRun {
		n, err := s.rdb.Exists(ctx, s.keyMarker(fam)).Result()
		if err != nil {
			return false, s.unavailable("import", err)
		}
		return n == 0, nil
	}

	// An access token alone: its own family, indexed as F+H until it
	// expires. With a refresh token: a family, indexed as F up to the
	// horizon, whose current access token is the imported one, or (when
	// none is live) a hash no token has, so that the first rotation
	// deletes nothing and names no real token.
	atExp := t.AccessExpiresAt.Truncate(time.Second)
	atTTL := atExp.Sub(now)
	atH, atHex := hashForms(importDomain + "none\x00" + t.RefreshToken)
	atVal := ""
	if t.AccessToken != "" {
		atH, atHex = hashForms(t.AccessToken)
		atVal = encodeRecord(record{Grant: t.Grant, IssuedAt: t.AccessIssuedAt, ExpiresAt: atExp})
	}
	markerTTL, member, indexEnd := atTTL, fam+atH, atExp
	rtVal, rtTTL, famTTL, horizon := "", time.Duration(0), time.Duration(0), time.Time{}
	if t.RefreshToken != "" {
		rtTTL = s.life.Refresh
		rtVal = encodeRecord(record{Grant: t.Grant, IssuedAt: t.RefreshIssuedAt, ExpiresAt: now.Truncate(time.Second).Add(rtTTL)})
		famTTL = max(atTTL, rtTTL)
		horizon = now.Add(2 * famTTL)
		markerTTL, member, indexEnd = famTTL, fam, horizon
	}
	keys := []string{s.keyMarker(fam), s.keyAT(fam, atH), s.keyRT(fam, rtH), s.keyFam(fam)}
	args := []any{markerTTL.Milliseconds(), atVal, atTTL.Milliseconds(), rtVal, rtTTL.Milliseconds(), t.ClientID, atH, rtH,
		horizon.UnixMilli(), string(appendGrantBody(nil, t.Grant)), t.Scope, atHex, famTTL.Milliseconds()}
	var (
		registered []string
		res        *redis.Cmd
	)
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		registered = s.queueIndex(ctx, p, t.Grant, member, indexEnd)
		res = importScript.EvalSha(ctx, p, keys, args...)
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return false, s.unavailable("import", err)
	}
	s.known.add(registered, now)
	n, err := res.Int64()
	if err != nil {
		return false, fmt.Errorf("tokens: import: %w", err)
	}
	if t.RefreshToken != "" {
		// Written after the family, so that a failure in between leaves
		// the pair to the next run (the marker keeps it from being written
		// twice; the alias is written then).
		if err := s.rdb.Set(ctx, s.keyAlias(rtH), fam, rtTTL).Err(); err != nil {
			return false, s.unavailable("import", err)
		}
	}
	return n == 1, nil
}
