package tokens

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
)

// Tokens issued elsewhere (by Django OAuth Toolkit, before a migration)
// keep their text, which has no family id in it. Import puts them in a
// family of their user's shard like any other, and writes an alias key,
// in a slot of its own, from the token's hash to its family:
//
//	<p>i{H[:4]}H[4:]  the family id of an imported token, TTL = its lifetime
//
// A lookup of a token that is not in this store's format reads the alias
// first: one round trip more, for imported tokens only, and only while
// imported tokens live (the <p>imported marker exists). Whether they do is
// read again at most once per importsRecheck by each process (importsSeen),
// so a server that is serving sees an import made meanwhile by another
// process (authserver import-dot) within that time, without a restart, and
// a malformed or foreign token costs, while nothing is imported, at most
// one EXISTS per importsRecheck per process, shared by every such token.
// Tokens in this store's format never pay for any of it. An imported
// refresh token rotates into tokens of this store's format.

// keyAlias names the alias of an imported token's key-form hash.
func (s *Store) keyAlias(h string) string { return s.prefix + "i{" + h[:4] + "}" + h[4:] }

// keyImported marks that tokens were imported; it lives as long as the
// longest of them.
func (s *Store) keyImported() string { return s.prefix + "imported" }

// ImportedTokens are live tokens issued elsewhere, to be kept valid.
type ImportedTokens struct {
	grant.Grant // the user, client and scope; Checked as for Issue (zero: read now)
	// AccessToken is the access token's text, any format; AccessExpiresAt
	// its expiry. IssuedAt is when it was issued (zero: now).
	AccessToken     string
	AccessExpiresAt time.Time
	IssuedAt        time.Time
	// RefreshToken is the refresh token of the same grant ("" for none),
	// and RefreshExpiresAt its expiry (zero: the store's refresh lifetime
	// from now).
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// importScript writes an imported family, or nothing when it exists (an
// import run twice), or when its user or client was revoked after it was
// checked. Replies 1 written, 0 refused, 2 there already. KEYS and ARGV:
// importArgs.
var importScript = newScript(epochCheck + `
if refused(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
redis.call('SET', KEYS[2], ARGV[6], 'PXAT', ARGV[7])
if #KEYS == 3 then
  redis.call('SET', KEYS[3], ARGV[8], 'PXAT', ARGV[9])
end
redis.call('HSET', KEYS[1], 'c', ARGV[2], 'u', ARGV[3], 'e', ARGV[10], 'a', ARGV[11], 'r', ARGV[12], 'x', ARGV[13], 'g', ARGV[14], 's', ARGV[15])
redis.call('PEXPIREAT', KEYS[1], ARGV[16])
return 1
`)

// importArgs are importScript's KEYS and ARGV.
type importArgs struct {
	epochs       string
	grant        grant.Grant
	fam, at, rt  string // keys; rt "" without a refresh token
	atVal, rtVal string
	atExp, rtExp time.Time
	famExp       time.Time
	atH, rtH     string
	horizon      time.Time
	body         string
	gen          int64
}

func (a importArgs) build() (keys, argv []string) {
	keys = []string{a.fam, a.at}
	if a.rt != "" {
		keys = append(keys, a.rt)
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return keys, []string{a.epochs, a.grant.ClientID, i(a.grant.UserID), i(a.grant.Checked.Client), i(a.grant.Checked.User),
		a.atVal, i(a.atExp.UnixMilli()), a.rtVal, i(a.rtExp.UnixMilli()), i(a.gen), a.atH, a.rtH,
		i(a.horizon.UnixMilli()), a.body, a.grant.Scope, i(a.famExp.UnixMilli())}
}

// importedFamily is the family an imported access token goes into: in its
// grant's shard, named after the token's hash, so that an import run
// twice names the same family.
func importedFamily(g grant.Grant, atH string) string {
	return string(shardOf(g)) + strings.NewReplacer("-", "A", "_", "B").Replace(atH[:famLen-1])
}

// maxImportedLen bounds the text of an imported token.
const maxImportedLen = 255

// Import stores live tokens issued elsewhere from their plaintext values,
// hashed like any token: an access token and, when it has one, its refresh
// token as a family that rotates as usual (the first rotation gives tokens
// of this store's format). An expired access token is not stored (its
// refresh token is). Calling it again with the same access token changes
// nothing. It refuses (ErrRevoked) a grant whose user or client was
// revoked after g.Checked; a zero Checked is read now. A token in this
// store's own format, or longer than 255 bytes, is refused (an error).
// Every Store on the same Redis accepts them within importsRecheck, this
// one at once. Errors: ErrRevoked, ErrUnavailable.
func (s *Store) Import(ctx context.Context, t ImportedTokens) error {
	for _, tok := range []string{t.AccessToken, t.RefreshToken} {
		if tok != "" && !importable(tok) {
			return errors.New("tokens: import: a token must be 1-255 printable ASCII bytes, not in this store's format")
		}
	}
	if t.AccessToken == "" {
		return errors.New("tokens: import: no access token")
	}
	if strings.IndexByte(t.ClientID, ':') >= 0 {
		return errClientID
	}
	now := s.now()
	if t.IssuedAt.IsZero() {
		t.IssuedAt = now
	}
	if t.RefreshToken != "" && t.RefreshExpiresAt.IsZero() {
		t.RefreshExpiresAt = now.Add(s.life.Refresh)
	}
	if t.Checked == (grant.Checked{}) {
		gen, err := s.Generation(ctx)
		if err != nil {
			return err
		}
		t.Checked = grant.Checked{User: gen, Client: gen}
	}
	atH := keyHash(t.AccessToken)
	fam := importedFamily(t.Grant, atH)
	gen := t.Checked.Gen()
	famExp := t.AccessExpiresAt
	if t.RefreshToken != "" && t.RefreshExpiresAt.After(famExp) {
		famExp = t.RefreshExpiresAt
	}
	if !famExp.After(now) {
		return nil // nothing live
	}
	a := importArgs{epochs: s.epochPrefix(fam[0]), grant: t.Grant, fam: s.keyFam(fam), at: s.keyAT(fam, atH),
		atVal: encodeRecord(record{Grant: t.Grant, Gen: gen, IssuedAt: t.IssuedAt, ExpiresAt: t.AccessExpiresAt}),
		atExp: t.AccessExpiresAt, famExp: famExp, atH: atH, horizon: famExp.Add(s.famTTL()),
		body: string(appendGrantBody(nil, t.Grant)), gen: gen}
	if !t.AccessExpiresAt.After(now) {
		a.atExp = now.Add(time.Millisecond) // gone at once; the family keeps its hash
	}
	aliases := map[string]time.Time{atH: a.atExp}
	if t.RefreshToken != "" {
		rtH := keyHash(t.RefreshToken)
		a.rt, a.rtH, a.rtExp = s.keyRT(fam, rtH), rtH, t.RefreshExpiresAt
		a.rtVal = encodeRecord(record{Grant: t.Grant, Gen: gen, IssuedAt: t.IssuedAt, ExpiresAt: t.RefreshExpiresAt})
		aliases[rtH] = t.RefreshExpiresAt
	}
	keys, argv := a.build()
	res, err := s.doMulti(ctx, func() rueidis.Commands {
		// The indexes first, as Issue does, so that a revocation that
		// runs alongside finds the family.
		cmds, _ := s.indexCmds(t.Grant, fam, a.horizon)
		for h, exp := range aliases {
			cmds = append(cmds, s.rc.B().Set().Key(s.keyAlias(h)).Value(fam).PxatMillisecondsTimestamp(exp.UnixMilli()).Build())
		}
		return append(cmds,
			s.rc.B().Set().Key(s.keyImported()).Value("1").Nx().PxatMillisecondsTimestamp(famExp.UnixMilli()).Build(),
			s.rc.B().Pexpireat().Key(s.keyImported()).MillisecondsTimestamp(famExp.UnixMilli()).Gt().Build(),
			s.evalsha(importScript, keys, argv))
	})
	if err != nil {
		return s.unavailable("import", err)
	}
	if n, _ := res[len(res)-1].AsInt64(); n == 0 {
		return grant.ErrRevoked
	}
	s.imports.set(true, s.now())
	return nil
}

// importable reports whether tok may be imported: printable ASCII, not
// too long, and not in this store's format (those need no alias).
func importable(tok string) bool {
	if len(tok) == 0 || len(tok) > maxImportedLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return false
		}
	}
	_, _, a := parseToken(tok, accessPrefix)
	_, _, r := parseToken(tok, refreshPrefix)
	return !a && !r
}

// importsRecheck is how long a Store trusts what it last read of the
// imported marker.
const importsRecheck = time.Second

// importsSeen is what a Store last read of the imported marker, and when.
// Safe for concurrent use.
type importsSeen struct {
	exist atomic.Bool
	at    atomic.Int64 // Unix ns of the last read; 0: never
}

func (m *importsSeen) set(exist bool, now time.Time) {
	m.exist.Store(exist)
	m.at.Store(now.UnixNano())
}

// mayHaveImports reports whether imported tokens may live. It reads the
// marker when what it knows is older than importsRecheck, in one caller at
// a time (the others go on with what is known). A failed read keeps what
// was known, to be read again by the next caller: a lookup that needs the
// alias meets the failure there.
func (s *Store) mayHaveImports(ctx context.Context) bool {
	now := s.now()
	last := s.imports.at.Load()
	if now.UnixNano()-last < int64(importsRecheck) || !s.imports.at.CompareAndSwap(last, now.UnixNano()) {
		return s.imports.exist.Load()
	}
	n, err := s.rdb.Exists(ctx, s.keyImported()).Result()
	if err != nil {
		s.imports.at.Store(last)
		return s.imports.exist.Load()
	}
	s.imports.exist.Store(n == 1)
	return n == 1
}

// locate is parseToken, and for a token in no format of this store, its
// import alias (one round trip, only while imported tokens may live; see
// mayHaveImports). Errors: ErrNotFound, ErrUnavailable.
func (s *Store) locate(ctx context.Context, token, prefix string) (fam, h string, err error) {
	if fam, h, ok := parseToken(token, prefix); ok {
		return fam, h, nil
	}
	if !importable(token) || strings.HasPrefix(token, accessPrefix) || strings.HasPrefix(token, refreshPrefix) ||
		strings.HasPrefix(token, codePrefix) || !s.mayHaveImports(ctx) {
		return "", "", grant.ErrNotFound
	}
	h = keyHash(token)
	fam, err = s.rdb.Get(ctx, s.keyAlias(h)).Result()
	if errors.Is(err, redis.Nil) || err == nil && len(fam) != famLen {
		return "", "", grant.ErrNotFound
	}
	if err != nil {
		return "", "", s.unavailable("locate", err)
	}
	return fam, h, nil
}

// WasImported reports whether token was imported and its alias still
// lives (its token's lifetime), even if it has since been rotated or
// revoked here, so that an import run again brings nothing back. Errors:
// ErrUnavailable.
func (s *Store) WasImported(ctx context.Context, token string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.keyAlias(keyHash(token))).Result()
	if err != nil {
		return false, s.unavailable("was imported", err)
	}
	return n == 1, nil
}
