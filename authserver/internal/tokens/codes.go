package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// Authorization codes (RFC 6749 §4.1.2). A code has the token text layout
// with the prefix "pcac_": its family id is the family its tokens will be
// issued in, reserved when the code is made, so that a second presentation
// of the code can revoke them (RFC 6749 §4.1.2, RFC 9700 §4.5). Redis keeps
// only the code's hash:
//
//	<p>k{F}H   the code record (JSON), TTL = CodeLifetime
//	<p>K{F}H   the "consumed" marker ("used" or "revoked"), TTL = family life
const codePrefix = "pcac_"

// CodeLifetime is how long an authorization code can be exchanged.
const CodeLifetime = 60 * time.Second

func (s *Store) keyCode(fam, h string) string   { return s.prefix + "k{" + fam + "}" + h }
func (s *Store) keyCodeUT(fam, h string) string { return s.prefix + "K{" + fam + "}" + h }

// consumeCodeScript takes a code once. Replies {"ok", record},
// {"replayed"} (the marker is now "revoked") or {"notfound"}.
// KEYS and ARGV: consumeArgs.
var consumeCodeScript = newScript(`
local v = redis.call('GET', KEYS[1])
if v then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], 'used', 'PX', ARGV[1])
  return {'ok', v}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SET', KEYS[2], 'revoked', 'PX', ARGV[1])
  return {'replayed'}
end
return {'notfound'}
`)

// consumeArgs are consumeCodeScript's KEYS and ARGV.
type consumeArgs struct {
	code, marker string // keys
	markerTTL    time.Duration
}

func (a consumeArgs) build() ([]string, []any) {
	return []string{a.code, a.marker}, []any{a.markerTTL.Milliseconds()}
}

// IssueCode stores a new authorization code for c and returns it. Its
// ExpiresAt is set here. c.Checked must be the generation read before the
// user was checked (Generation); it is never read here, after the check,
// where a revocation in between would go unseen. Errors: ErrUnavailable.
func (s *Store) IssueCode(ctx context.Context, c grant.Code) (string, error) {
	fam, err := newFamily(shardOf(grant.Grant{ClientID: c.ClientID, UserID: c.UserID}))
	if err != nil {
		return "", err
	}
	code, err := newToken(codePrefix, fam)
	if err != nil {
		return "", err
	}
	c.ExpiresAt = s.now().Add(CodeLifetime)
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("tokens: issue code: %w", err)
	}
	if err := s.rdb.Set(ctx, s.keyCode(fam, keyHash(code)), b, CodeLifetime).Err(); err != nil {
		return "", s.unavailable("issue code", err)
	}
	return code, nil
}

// ConsumeCode takes code: the first call gets its record, every later call
// gets ErrCodeReplayed and revokes the tokens issued from it (an event is
// published). Unknown, malformed and expired codes give ErrNotFound. The
// caller checks the client, redirect URI and PKCE verifier, then calls
// IssueForCode. Errors: ErrNotFound, ErrCodeReplayed, ErrUnavailable.
func (s *Store) ConsumeCode(ctx context.Context, code string) (grant.Code, error) {
	fam, h, ok := parseToken(code, codePrefix)
	if !ok {
		return grant.Code{}, grant.ErrNotFound
	}
	keys, argv := consumeArgs{code: s.keyCode(fam, h), marker: s.keyCodeUT(fam, h), markerTTL: s.famTTL()}.build()
	res, err := consumeCodeScript.Run(ctx, s.rdb, keys, argv...).StringSlice()
	if err != nil {
		return grant.Code{}, s.unavailable("consume code", err)
	}
	switch {
	case len(res) == 2 && res[0] == "ok":
		var c grant.Code
		if err := json.Unmarshal([]byte(res[1]), &c); err != nil {
			return grant.Code{}, fmt.Errorf("tokens: consume code: %w", err)
		}
		if !c.ExpiresAt.After(s.now()) {
			return grant.Code{}, grant.ErrNotFound
		}
		return c, nil
	case len(res) == 1 && res[0] == "replayed":
		if _, err := s.revokeFamily(ctx, fam, revocation.ReasonCodeReplay); err != nil {
			return grant.Code{}, fmt.Errorf("%w (%w)", grant.ErrCodeReplayed, err)
		}
		return grant.Code{}, grant.ErrCodeReplayed
	}
	return grant.Code{}, grant.ErrNotFound
}

// IssueForCode issues an access and a refresh token for a consumed code, in
// the family the code reserved, unless g's user or client was revoked
// after g.Checked (ErrRevoked). If the code was replayed meanwhile, the
// tokens are revoked again and ErrCodeReplayed is returned. Errors:
// ErrNotFound (malformed code), ErrCodeReplayed, ErrRevoked, ErrUnavailable.
func (s *Store) IssueForCode(ctx context.Context, code string, g grant.Grant) (grant.Issued, error) {
	fam, h, ok := parseToken(code, codePrefix)
	if !ok || fam[0] != shardOf(g) {
		return grant.Issued{}, grant.ErrNotFound
	}
	iss, err := s.issueIn(ctx, g, true, fam)
	if err != nil {
		return grant.Issued{}, err
	}
	// A replay that came between ConsumeCode and here marked the code
	// "revoked" before revoking the family: whichever ran last, no token
	// of the family survives it.
	m, err := s.rdb.Get(ctx, s.keyCodeUT(fam, h)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return grant.Issued{}, s.unavailable("issue for code", err)
	}
	if m == "revoked" {
		_, _ = s.revokeFamily(ctx, fam, revocation.ReasonCodeReplay)
		return grant.Issued{}, grant.ErrCodeReplayed
	}
	return iss, nil
}
