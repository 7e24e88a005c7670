package resets

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"
)

// Errors returned by Store.
var (
	// ErrNotFound: unknown, malformed, used or expired.
	ErrNotFound = errors.New("resets: token not found")
	// ErrUnavailable wraps every Redis failure.
	ErrUnavailable = errors.New("resets: store unavailable")
)

// tokenPrefix lets secret scanners find a leaked link's token.
const tokenPrefix = "pcpr_"

// Grant is what a token stands for.
type Grant struct {
	UserID int64 `json:"u"`
	// Mark binds the token to the user's password when it was issued.
	Mark string `json:"m"`
}

// Store keeps tokens in Redis. Safe for concurrent use.
type Store struct {
	rdb    redis.Cmdable
	prefix string
	ttl    time.Duration
}

// New returns a Store whose tokens live ttl; prefix is REDIS_PREFIX.
func New(rdb redis.Cmdable, prefix string, ttl time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix, ttl: ttl}
}

// TTL is how long a token lives.
func (s *Store) TTL() time.Duration { return s.ttl }

func (s *Store) key(token string) (string, bool) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) != len(tokenPrefix)+43 {
		return "", false
	}
	h := sha256.Sum256([]byte(token))
	return s.prefix + "pwreset:" + hex.EncodeToString(h[:]), true
}

// Issue makes a token for g. Errors: ErrUnavailable.
func (s *Store) Issue(ctx context.Context, g Grant) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	k, _ := s.key(token)
	v, _ := json.Marshal(g)
	if err := s.rdb.Set(ctx, k, v, s.ttl).Err(); err != nil {
		return "", fmt.Errorf("resets: issue: %w: %w", ErrUnavailable, err)
	}
	return token, nil
}

// Peek returns what token stands for, leaving it usable. Errors:
// ErrNotFound, ErrUnavailable.
func (s *Store) Peek(ctx context.Context, token string) (Grant, error) {
	return s.read(ctx, token, false)
}

// Consume returns what token stands for and ends it: of two uses racing,
// one wins. Errors: ErrNotFound, ErrUnavailable.
func (s *Store) Consume(ctx context.Context, token string) (Grant, error) {
	return s.read(ctx, token, true)
}

func (s *Store) read(ctx context.Context, token string, consume bool) (Grant, error) {
	k, ok := s.key(token)
	if !ok {
		return Grant{}, ErrNotFound
	}
	var v string
	var err error
	if consume {
		v, err = s.rdb.GetDel(ctx, k).Result()
	} else {
		v, err = s.rdb.Get(ctx, k).Result()
	}
	if errors.Is(err, redis.Nil) {
		return Grant{}, ErrNotFound
	}
	if err != nil {
		return Grant{}, fmt.Errorf("resets: read: %w: %w", ErrUnavailable, err)
	}
	var g Grant
	if json.Unmarshal([]byte(v), &g) != nil || g.UserID == 0 {
		return Grant{}, ErrNotFound
	}
	return g, nil
}
