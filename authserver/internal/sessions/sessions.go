package sessions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"
)

// Errors returned by Store.
var (
	// ErrNotFound: unknown, malformed, idle-expired or past its absolute
	// lifetime.
	ErrNotFound = errors.New("sessions: not found")
	// ErrUnavailable wraps every Redis failure.
	ErrUnavailable = errors.New("sessions: store unavailable")
)

// Session is one signed-in browser.
type Session struct {
	UserID int64 `json:"u"`
	// CSRF is the synchronizer token the session's forms carry.
	CSRF      string    `json:"x"`
	CreatedAt time.Time `json:"c"`
	// Mark binds the session to the user's password at login (an HMAC of
	// the stored hash, made by the caller): when the password changes, the
	// caller sees the mark differ and ends the session.
	Mark string `json:"p,omitempty"`
}

// Store keeps sessions in Redis. Safe for concurrent use.
type Store struct {
	rdb      redis.Cmdable
	prefix   string
	idle     time.Duration
	absolute time.Duration
	now      func() time.Time
}

// New returns a Store. idle is the inactivity timeout, absolute the
// maximum age of a session; both must be positive.
func New(rdb redis.Cmdable, prefix string, idle, absolute time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix, idle: idle, absolute: absolute, now: time.Now}
}

// Random returns n random bytes, base64url-encoded.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Store) key(id string) string {
	h := sha256.Sum256([]byte(id))
	return s.prefix + "sess:" + hex.EncodeToString(h[:])
}

// ttl is how long a session may live from now: the idle timeout, capped by
// what is left of its absolute lifetime.
func (s *Store) ttl(created time.Time) time.Duration {
	return min(s.idle, created.Add(s.absolute).Sub(s.now()))
}

// Create starts a session for userID and returns the id to put in the
// cookie. Errors: ErrUnavailable.
func (s *Store) Create(ctx context.Context, userID int64, mark string) (string, Session, error) {
	id := Random(32)
	sess := Session{UserID: userID, CSRF: Random(32), CreatedAt: s.now().UTC(), Mark: mark}
	b, _ := json.Marshal(sess)
	if err := s.rdb.Set(ctx, s.key(id), b, s.ttl(sess.CreatedAt)).Err(); err != nil {
		return "", Session{}, fmt.Errorf("sessions: create: %w: %w", ErrUnavailable, err)
	}
	return id, sess, nil
}

// Get returns the session id names and slides its idle expiry. Errors:
// ErrNotFound, ErrUnavailable.
func (s *Store) Get(ctx context.Context, id string) (Session, error) {
	if len(id) != 43 {
		return Session{}, ErrNotFound
	}
	k := s.key(id)
	v, err := s.rdb.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("sessions: get: %w: %w", ErrUnavailable, err)
	}
	var sess Session
	if err := json.Unmarshal([]byte(v), &sess); err != nil {
		return Session{}, ErrNotFound
	}
	ttl := s.ttl(sess.CreatedAt)
	if ttl <= 0 {
		_ = s.rdb.Del(ctx, k).Err()
		return Session{}, ErrNotFound
	}
	if err := s.rdb.PExpire(ctx, k, ttl).Err(); err != nil {
		return Session{}, fmt.Errorf("sessions: touch: %w: %w", ErrUnavailable, err)
	}
	return sess, nil
}

// Delete ends the session id names; an unknown id is not an error.
// Errors: ErrUnavailable.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.key(id)).Err(); err != nil {
		return fmt.Errorf("sessions: delete: %w: %w", ErrUnavailable, err)
	}
	return nil
}
