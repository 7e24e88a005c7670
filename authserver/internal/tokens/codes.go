package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"

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

// ErrCodeReplayed: a code that was already exchanged was presented again;
// the tokens issued from it have been revoked.
var ErrCodeReplayed = errors.New("tokens: authorization code replayed")

// Code is what an authorization code was issued for.
type Code struct {
	ClientID string `json:"c"`
	UserID   int64  `json:"u"`
	Username string `json:"n"`
	Scope    string `json:"s"`
	// RedirectURI is the redirect URI the code was sent to;
	// RedirectURIGiven says whether the request named it (then the token
	// request must repeat it, RFC 6749 §4.1.3).
	RedirectURI      string `json:"r"`
	RedirectURIGiven bool   `json:"rg,omitempty"`
	// Challenge and ChallengeMethod are the PKCE code_challenge (RFC 7636);
	// empty when the (confidential) client sent none.
	Challenge       string    `json:"pc,omitempty"`
	ChallengeMethod string    `json:"pm,omitempty"`
	ExpiresAt       time.Time `json:"e"`
	// Checked is the generation (Store.Generation) read before the user
	// was checked for this code; set by IssueCode when zero. The tokens
	// issued for the code are refused if the user was revoked after it.
	Checked int64 `json:"g"`
}

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
// ExpiresAt is set here, and its Checked when zero (one more round trip:
// the caller that checked the user should have read it before). Errors:
// ErrUnavailable.
func (s *Store) IssueCode(ctx context.Context, c Code) (string, error) {
	if c.Checked == 0 {
		g, err := s.Generation(ctx)
		if err != nil {
			return "", err
		}
		c.Checked = g
	}
	fam, err := newFamily(shardOf(Grant{ClientID: c.ClientID, UserID: c.UserID}))
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
func (s *Store) ConsumeCode(ctx context.Context, code string) (Code, error) {
	fam, h, ok := parseToken(code, codePrefix)
	if !ok {
		return Code{}, ErrNotFound
	}
	keys, argv := consumeArgs{code: s.keyCode(fam, h), marker: s.keyCodeUT(fam, h), markerTTL: s.famTTL()}.build()
	res, err := consumeCodeScript.Run(ctx, s.rdb, keys, argv...).StringSlice()
	if err != nil {
		return Code{}, s.unavailable("consume code", err)
	}
	switch {
	case len(res) == 2 && res[0] == "ok":
		var c Code
		if err := json.Unmarshal([]byte(res[1]), &c); err != nil {
			return Code{}, fmt.Errorf("tokens: consume code: %w", err)
		}
		if !c.ExpiresAt.After(s.now()) {
			return Code{}, ErrNotFound
		}
		return c, nil
	case len(res) == 1 && res[0] == "replayed":
		if err := s.revokeFamily(ctx, fam, revocation.ReasonCodeReplay); err != nil {
			return Code{}, fmt.Errorf("%w (%w)", ErrCodeReplayed, err)
		}
		return Code{}, ErrCodeReplayed
	}
	return Code{}, ErrNotFound
}

// IssueForCode issues an access and a refresh token for a consumed code, in
// the family the code reserved, unless g's user or client was revoked
// after g.Checked (ErrRevoked). If the code was replayed meanwhile, the
// tokens are revoked again and ErrCodeReplayed is returned. Errors:
// ErrNotFound (malformed code), ErrCodeReplayed, ErrRevoked, ErrUnavailable.
func (s *Store) IssueForCode(ctx context.Context, code string, g Grant) (Issued, error) {
	fam, h, ok := parseToken(code, codePrefix)
	if !ok || fam[0] != shardOf(g) {
		return Issued{}, ErrNotFound
	}
	iss, err := s.issueIn(ctx, g, true, fam)
	if err != nil {
		return Issued{}, err
	}
	// A replay that came between ConsumeCode and here marked the code
	// "revoked" before revoking the family: whichever ran last, no token
	// of the family survives it.
	m, err := s.rdb.Get(ctx, s.keyCodeUT(fam, h)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Issued{}, s.unavailable("issue for code", err)
	}
	if m == "revoked" {
		_ = s.revokeFamily(ctx, fam, revocation.ReasonCodeReplay)
		return Issued{}, ErrCodeReplayed
	}
	return iss, nil
}

// revokeFamily deletes every live token of family fam and publishes a
// KindTokens event. Errors: ErrUnavailable.
func (s *Store) revokeFamily(ctx context.Context, fam string, reason revocation.Reason) error {
	hs, err := s.deleteFamily(ctx, fam)
	if err != nil || len(hs) == 0 {
		return err
	}
	return s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: hexAll(hs), Reason: reason})
}
