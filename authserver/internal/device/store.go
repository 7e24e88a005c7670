package device

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"
)

// Errors of Poll (RFC 8628 §3.5) and of the verification side.
var (
	ErrPending  = errors.New("device: authorization pending")
	ErrSlowDown = errors.New("device: polling too fast")
	ErrDenied   = errors.New("device: the user denied the request")
	ErrExpired  = errors.New("device: device code expired")
	// ErrInvalid is an unknown device code, one already used, or one that
	// another client started.
	ErrInvalid = errors.New("device: invalid device code")
	// ErrNotFound is a user code that is unknown, expired or already
	// decided.
	ErrNotFound = errors.New("device: unknown user code")
	// ErrUnavailable wraps every Redis failure.
	ErrUnavailable = errors.New("device: store unavailable")
)

// SlowDownStep is how much the interval grows at each slow_down (§3.5).
const SlowDownStep = 5 * time.Second

const deviceCodePrefix = "pcdc_"

// Request is what a device asked for.
type Request struct {
	ClientID string
	Scope    string
}

// Approval is who approved a request, and when they signed in.
type Approval struct {
	UserID   int64
	Email    string
	AuthTime time.Time
}

// Started is a new device authorization: the codes and how to poll.
type Started struct {
	DeviceCode string
	// UserCode is shown as XXXX-XXXX.
	UserCode  string
	ExpiresIn time.Duration
	Interval  time.Duration
}

// Granted is an approved request, handed to exactly one poll.
type Granted struct {
	Request
	Approval
}

// Store keeps device authorizations. Safe for concurrent use.
type Store struct {
	rdb      redis.Cmdable
	prefix   string
	lifetime time.Duration
	interval time.Duration
	now      func() time.Time
}

// NewStore returns a Store whose codes live lifetime and are polled every
// interval at most; prefix is REDIS_PREFIX.
func NewStore(rdb redis.Cmdable, prefix string, lifetime, interval time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix, lifetime: lifetime, interval: interval, now: time.Now}
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// The request record is a hash under the device code's hash; it outlives
// the code by one lifetime, so a late poll gets expired_token rather than
// invalid_grant. The user code key holds the device code's hash.
func (s *Store) keyDevice(h string) string { return s.prefix + "dc:" + h }
func (s *Store) keyUser(code string) string {
	return s.prefix + "du:" + hash(code)
}

func (s *Store) unavailable(op string, err error) error {
	return fmt.Errorf("device: %s: %w: %w", op, ErrUnavailable, err)
}

// Start records a new request and returns its codes.
func (s *Store) Start(ctx context.Context, r Request) (Started, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Started{}, fmt.Errorf("device: start: %w", err)
	}
	dc := deviceCodePrefix + base64.RawURLEncoding.EncodeToString(raw)
	dh := hash(dc)
	now := s.now()
	exp := now.Add(s.lifetime)
	for range 5 {
		uc, err := newUserCode()
		if err != nil {
			return Started{}, fmt.Errorf("device: start: %w", err)
		}
		norm, _ := NormalizeUserCode(uc)
		ok, err := s.rdb.SetNX(ctx, s.keyUser(norm), dh, s.lifetime).Result()
		if err != nil {
			return Started{}, s.unavailable("start", err)
		}
		if !ok {
			continue // a live request holds this user code: draw again
		}
		pipe := s.rdb.TxPipeline()
		pipe.HSet(ctx, s.keyDevice(dh), "c", r.ClientID, "s", r.Scope, "st", "p", "i", s.interval.Milliseconds(), "l", 0, "e", exp.UnixMilli())
		pipe.PExpire(ctx, s.keyDevice(dh), 2*s.lifetime)
		if _, err := pipe.Exec(ctx); err != nil {
			return Started{}, s.unavailable("start", err)
		}
		return Started{DeviceCode: dc, UserCode: uc, ExpiresIn: s.lifetime, Interval: s.interval}, nil
	}
	return Started{}, errors.New("device: start: no free user code")
}

// Lookup returns the pending request of a user code (normalized).
// Errors: ErrNotFound, ErrUnavailable.
func (s *Store) Lookup(ctx context.Context, userCode string) (Request, error) {
	dh, err := s.rdb.Get(ctx, s.keyUser(userCode)).Result()
	if errors.Is(err, redis.Nil) {
		return Request{}, ErrNotFound
	}
	if err != nil {
		return Request{}, s.unavailable("lookup", err)
	}
	v, err := s.rdb.HMGet(ctx, s.keyDevice(dh), "c", "s", "st", "e").Result()
	if err != nil {
		return Request{}, s.unavailable("lookup", err)
	}
	c, _ := v[0].(string)
	sc, _ := v[1].(string)
	st, _ := v[2].(string)
	e, _ := v[3].(string)
	exp, _ := strconv.ParseInt(e, 10, 64)
	if c == "" || st != "p" || s.now().UnixMilli() >= exp {
		return Request{}, ErrNotFound
	}
	return Request{ClientID: c, Scope: sc}, nil
}

// decideScript records the user's decision on a pending, unexpired
// request. KEYS: device. ARGV: status, user id, email, auth time (unix),
// now (ms). Replies 1, or 0 when the request is not pending.
var decideScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'st', 'e')
if v[1] ~= 'p' or tonumber(ARGV[5]) >= tonumber(v[2]) then return 0 end
redis.call('HSET', KEYS[1], 'st', ARGV[1], 'u', ARGV[2], 'n', ARGV[3], 't', ARGV[4])
return 1
`)

// Decide approves (allow) or denies the request of a user code; the user
// code is spent either way. Errors: ErrNotFound, ErrUnavailable.
func (s *Store) Decide(ctx context.Context, userCode string, allow bool, a Approval) error {
	dh, err := s.rdb.GetDel(ctx, s.keyUser(userCode)).Result()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return s.unavailable("decide", err)
	}
	st := "d"
	if allow {
		st = "a"
	}
	n, err := decideScript.Run(ctx, s.rdb, []string{s.keyDevice(dh)}, st, a.UserID, a.Email, a.AuthTime.Unix(), s.now().UnixMilli()).Int()
	if err != nil {
		return s.unavailable("decide", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// pollScript is one poll (RFC 8628 §3.4, §3.5), atomically. KEYS: device.
// ARGV: client id, now (ms), slow-down step (ms). A poll by another client
// changes nothing. A poll sooner than the interval after the last one grows
// the interval. An approved or denied request is used up by the poll that
// sees it.
var pollScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'c', 'st', 'e', 'i', 'l', 's', 'u', 'n', 't')
if not v[1] or v[1] ~= ARGV[1] or v[2] == 'x' then return {'invalid'} end
local now = tonumber(ARGV[2])
if now >= tonumber(v[3]) then return {'expired'} end
local i, l = tonumber(v[4]), tonumber(v[5])
if l > 0 and now - l < i then
  redis.call('HSET', KEYS[1], 'i', i + tonumber(ARGV[3]), 'l', now)
  return {'slow_down'}
end
redis.call('HSET', KEYS[1], 'l', now)
if v[2] == 'p' then return {'pending'} end
redis.call('HSET', KEYS[1], 'st', 'x')
if v[2] == 'd' then return {'denied'} end
return {'ok', v[6], v[7], v[8], v[9]}
`)

// Poll is the device's token request. Exactly one poll gets an approved
// request. Errors: ErrPending, ErrSlowDown, ErrDenied, ErrExpired,
// ErrInvalid, ErrUnavailable.
func (s *Store) Poll(ctx context.Context, deviceCode, clientID string) (Granted, error) {
	if len(deviceCode) < len(deviceCodePrefix) || deviceCode[:len(deviceCodePrefix)] != deviceCodePrefix {
		return Granted{}, ErrInvalid
	}
	v, err := pollScript.Run(ctx, s.rdb, []string{s.keyDevice(hash(deviceCode))}, clientID, s.now().UnixMilli(), SlowDownStep.Milliseconds()).StringSlice()
	if err != nil {
		return Granted{}, s.unavailable("poll", err)
	}
	switch v[0] {
	case "pending":
		return Granted{}, ErrPending
	case "slow_down":
		return Granted{}, ErrSlowDown
	case "denied":
		return Granted{}, ErrDenied
	case "expired":
		return Granted{}, ErrExpired
	case "ok":
		if len(v) == 5 {
			uid, _ := strconv.ParseInt(v[2], 10, 64)
			at, _ := strconv.ParseInt(v[4], 10, 64)
			return Granted{Request: Request{ClientID: clientID, Scope: v[1]},
				Approval: Approval{UserID: uid, Email: v[3], AuthTime: time.Unix(at, 0).UTC()}}, nil
		}
	}
	return Granted{}, ErrInvalid
}

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }
