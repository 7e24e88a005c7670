package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"
)

// ErrNotFound is a code or token family with no authentication on record.
var ErrNotFound = errors.New("oidc: no authentication on record")

// Authentication is who signed in and when, as an id token states it.
type Authentication struct {
	UserID   int64     `json:"u"`
	Email    string    `json:"e"`
	AuthTime time.Time `json:"t"`
	// Nonce is the authorization request's nonce, echoed in the first id
	// token only (a refreshed one carries none, Core §12.2).
	Nonce string `json:"n,omitempty"`
}

// Store keeps authentications in Redis. A code's lives as long as a code
// can be exchanged (twice that, for clock slack); a family's as long as
// its refresh tokens, renewed at every refresh. Keys hold only SHA-256 of
// the code. Safe for concurrent use.
type Store struct {
	rdb     redis.Cmdable
	prefix  string
	codeTTL time.Duration
	famTTL  time.Duration
}

// NewStore returns a Store; prefix is REDIS_PREFIX.
func NewStore(rdb redis.Cmdable, prefix string, codeTTL, familyTTL time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix, codeTTL: 2 * codeTTL, famTTL: familyTTL}
}

func (s *Store) keyCode(code string) string {
	h := sha256.Sum256([]byte(code))
	return s.prefix + "oidc:c:" + hex.EncodeToString(h[:])
}

func (s *Store) keyFamily(fam string) string { return s.prefix + "oidc:f:" + fam }

// RememberCode records a for an authorization code just issued.
func (s *Store) RememberCode(ctx context.Context, code string, a Authentication) error {
	b, _ := json.Marshal(a)
	if err := s.rdb.Set(ctx, s.keyCode(code), b, s.codeTTL).Err(); err != nil {
		return fmt.Errorf("oidc: remember code: %w", err)
	}
	return nil
}

// TakeCode returns and forgets a code's authentication. Errors:
// ErrNotFound, Redis errors.
func (s *Store) TakeCode(ctx context.Context, code string) (Authentication, error) {
	v, err := s.rdb.GetDel(ctx, s.keyCode(code)).Result()
	return decode(v, err, "take code")
}

// RememberFamily records a (without its nonce) for a token family, so that
// its refreshes can carry a new id token.
func (s *Store) RememberFamily(ctx context.Context, fam string, a Authentication) error {
	a.Nonce = ""
	b, _ := json.Marshal(a)
	if err := s.rdb.Set(ctx, s.keyFamily(fam), b, s.famTTL).Err(); err != nil {
		return fmt.Errorf("oidc: remember family: %w", err)
	}
	return nil
}

// Family returns a family's authentication and keeps it as long as the
// family's newest refresh token. Errors: ErrNotFound, Redis errors.
func (s *Store) Family(ctx context.Context, fam string) (Authentication, error) {
	v, err := s.rdb.GetEx(ctx, s.keyFamily(fam), s.famTTL).Result()
	return decode(v, err, "family")
}

func decode(v string, err error, op string) (Authentication, error) {
	if errors.Is(err, redis.Nil) {
		return Authentication{}, ErrNotFound
	}
	if err != nil {
		return Authentication{}, fmt.Errorf("oidc: %s: %w", op, err)
	}
	var a Authentication
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return Authentication{}, fmt.Errorf("oidc: %s: %w", op, err)
	}
	return a, nil
}
