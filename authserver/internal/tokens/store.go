package tokens

import (
	crand "crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"
)

// Lifetimes of the tokens a Store issues.
type Lifetimes struct {
	Access  time.Duration
	Refresh time.Duration
}

// Defaults of the tunables that have no constructor argument.
const (
	// defaultReuseGrace is the default of SetReuseGrace.
	defaultReuseGrace = 2 * time.Second
	// maxTombstones is about how many rotated-away refresh hashes a family keeps;
	// a replay of an older one gives ErrNotFound instead of ErrReplayed.
	maxTombstones = 256
	// trimEvery: the tombstones are trimmed back to maxTombstones on about
	// one rotation in trimEvery, so a family holds at most a few more.
	trimEvery = 16
	// revokeBatch is how many index members one revocation round handles.
	revokeBatch = 500
	// maxEventHashes caps TokenHashes in one event; more go out in
	// several (publishAll).
	maxEventHashes = 1000
)

// Store keeps tokens in Redis, hashed. Safe for concurrent use.
type Store struct {
	rc       rueidis.Client // pipelines the commands of concurrent callers
	rdb      redis.Cmdable  // rc, shaped like go-redis
	prefix   string
	life     Lifetimes
	now      func() time.Time
	grace    time.Duration
	onRevoke func(reason string)
	cache    *accessCache            // nil unless CacheAccessTokens
	clients  ClientCache             // nil unless WatchClients
	imports  importsSeen             // whether imported tokens may exist (import.go)
	origin   string                  // this Store's revocation.Event Origin
	known    knownBuckets            // index buckets this process registered
	cleaner  atomic.Pointer[cleaner] // nil unless RunCleanup runs
	// rotations batches the events of rotations (rotations.go).
	rotations *rotationBatch
}

// New returns a Store. prefix is REDIS_PREFIX and goes on every key and on
// the revocation channel; it must not contain '{' or '}' (Redis Cluster hash
// tags). Both lifetimes must be positive.
func New(rc rueidis.Client, prefix string, life Lifetimes) *Store {
	var id [8]byte
	_, _ = crand.Read(id[:]) // never fails (crypto/rand)
	s := &Store{rc: rc, rdb: redis.NewAdapter(rc), prefix: prefix, life: life, now: time.Now, grace: defaultReuseGrace, origin: hex.EncodeToString(id[:])}
	s.rotations = newRotationBatch(s.publishRotations)
	return s
}

// SetReuseGrace sets how long after a rotation the rotated-away refresh
// token is taken, when presented again, for a concurrent duplicate (a
// retry, two tabs: ErrNotFound, the family lives) rather than a replay
// (ErrReplayed, the family is revoked). The trade-off: a thief who uses a
// stolen refresh token first keeps the family when the real client comes
// back within the grace. Zero makes every second use a replay. Call it
// before the Store is shared.
func (s *Store) SetReuseGrace(d time.Duration) { s.grace = max(d, 0) }

// famTTL is how long a family with a refresh token lives after an issue or
// a rotation.
func (s *Store) famTTL() time.Duration { return max(s.life.Access, s.life.Refresh) }
