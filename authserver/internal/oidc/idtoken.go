package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Scopes of OpenID Connect (Core §5.4): openid asks for an id token, email
// adds the email claims.
const (
	ScopeOpenID = "openid"
	ScopeEmail  = "email"
)

// signer signs and verifies JWS (signing.Keyring).
type signer interface {
	Sign(ctx context.Context, alg string, payload []byte) (string, error)
	Verify(ctx context.Context, token string) ([]byte, error)
}

// Claims are an id token's claims (Core §2, §5.1).
type Claims struct {
	Issuer        string `json:"iss"`
	Subject       string `json:"sub"`
	Audience      string `json:"aud"`
	Expiry        int64  `json:"exp"`
	IssuedAt      int64  `json:"iat"`
	AuthTime      int64  `json:"auth_time"`
	Nonce         string `json:"nonce,omitempty"`
	AtHash        string `json:"at_hash,omitempty"`
	AZP           string `json:"azp,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// Subject is the stable sub of a user: the user's id, as introspection
// and userinfo give it.
func Subject(userID int64) string { return strconv.FormatInt(userID, 10) }

// Issuer makes and reads id tokens. Safe for concurrent use.
type Issuer struct {
	issuer string
	ttl    time.Duration
	keys   signer
	now    func() time.Time
}

// NewIssuer returns an Issuer for the issuer URL (no trailing slash) whose
// id tokens live ttl.
func NewIssuer(issuer string, ttl time.Duration, keys signer) *Issuer {
	return &Issuer{issuer: issuer, ttl: ttl, keys: keys, now: time.Now}
}

// Token is what an id token is made for.
type Token struct {
	ClientID    string
	Alg         string // RS256 or ES256
	Auth        Authentication
	AccessToken string   // hashed into at_hash
	Scope       []string // email claims only with the email scope
}

// IDToken signs an id token for t.
func (i *Issuer) IDToken(ctx context.Context, t Token) (string, error) {
	now := i.now()
	c := Claims{
		Issuer: i.issuer, Subject: Subject(t.Auth.UserID), Audience: t.ClientID, AZP: t.ClientID,
		IssuedAt: now.Unix(), Expiry: now.Add(i.ttl).Unix(), AuthTime: t.Auth.AuthTime.Unix(), Nonce: t.Auth.Nonce,
	}
	if t.AccessToken != "" {
		c.AtHash = AtHash(t.AccessToken)
	}
	if slices.Contains(t.Scope, ScopeEmail) {
		// Portcullis does not verify addresses (signup sends no mail).
		f := false
		c.Email, c.EmailVerified = t.Auth.Email, &f
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("oidc: id token: %w", err)
	}
	tok, err := i.keys.Sign(ctx, t.Alg, b)
	if err != nil {
		return "", fmt.Errorf("oidc: id token: %w", err)
	}
	return tok, nil
}

// AtHash is the at_hash of an access token (Core §3.1.3.6): the left half
// of its SHA-256, base64url. RS256 and ES256 both use SHA-256.
func AtHash(accessToken string) string {
	h := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(h[:len(h)/2])
}

// ErrHint is an id_token_hint this server did not issue to the client.
var ErrHint = errors.New("oidc: id_token_hint is not an id token this server issued to the client")

// HintSubject checks an id_token_hint (Core §3.1.2.1): it must carry a
// valid signature of a published key, this issuer and the client among
// its audience. An expired one is accepted, as the hint is a hint. It
// returns the hint's sub. Errors: ErrHint, key store errors.
func (i *Issuer) HintSubject(ctx context.Context, hint, clientID string) (string, error) {
	p, err := i.keys.Verify(ctx, hint)
	if err != nil {
		return "", ErrHint
	}
	sub, aud, _, err := i.hintClaims(p)
	if err != nil || clientID != "" && !slices.Contains(aud, clientID) {
		return "", ErrHint
	}
	return sub, nil
}

// HintAudience is HintSubject for a request that names no client (RP-
// initiated logout may omit client_id): it returns the hint's sub and its
// single audience.
func (i *Issuer) HintAudience(ctx context.Context, hint string) (sub, aud string, err error) {
	p, err := i.keys.Verify(ctx, hint)
	if err != nil {
		return "", "", ErrHint
	}
	sub, _, one, err := i.hintClaims(p)
	if err != nil || one == "" {
		return "", "", ErrHint
	}
	return sub, one, nil
}

// hintClaims reads a verified hint's payload: its sub, its audience, and
// that audience as a single string when the token gives it as one. It must
// be this issuer's, with a sub.
func (i *Issuer) hintClaims(p []byte) (sub string, aud []string, one string, err error) {
	var c struct {
		Issuer   string          `json:"iss"`
		Subject  string          `json:"sub"`
		Audience json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(p, &c) != nil || c.Issuer != i.issuer || c.Subject == "" {
		return "", nil, "", ErrHint
	}
	if json.Unmarshal(c.Audience, &one) == nil {
		aud = []string{one}
	} else if json.Unmarshal(c.Audience, &aud) != nil {
		return "", nil, "", ErrHint
	}
	return c.Subject, aud, one, nil
}
