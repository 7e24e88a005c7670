package passwords

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords/argon2"
)

// MaxPasswordBytes caps the length of a password. Hash refuses longer ones,
// Verify and VerifyDummy return false for them without running a KDF, and
// Validate reports them, so a megabyte "password" costs no more than a short
// one. No real password comes near it.
const MaxPasswordBytes = 4096

// ErrMalformedHash is returned by Verify for a stored hash it cannot parse, of
// an unknown algorithm, or with parameters outside the accepted bounds.
var ErrMalformedHash = errors.New("passwords: malformed or unsupported hash")

// ErrPasswordTooLong is returned by Hash for a password over MaxPasswordBytes.
var ErrPasswordTooLong = errors.New("passwords: password too long")

// ErrBusy is returned by Hash, Verify and VerifyDummy when every
// derivation slot is busy and the queue behind them is full. The caller
// should answer 503 with Retry-After: the work was refused, not failed.
var ErrBusy = errors.New("passwords: too many password checks waiting")

// Refused reports whether err from Hash, Verify or VerifyDummy means that
// no check ran: the queue was full (ErrBusy), or the caller's context ended
// while it waited for a slot. Like ErrBusy, it says nothing about the
// password.
func Refused(err error) bool {
	return errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// DefaultQueue is how many key derivations may wait for a slot unless
// WithQueue says otherwise.
const DefaultQueue = 64

// Hasher makes argon2id hashes with fixed parameters and verifies hashes in
// every supported format. It is safe for concurrent use. At most
// GOMAXPROCS key derivations run at once; more would not finish sooner on
// that many cores, and each argon2id run holds its whole memory cost
// (19 MiB by default), so a burst of logins would otherwise grow the heap
// by that much per request. At most a queue's worth more wait for a slot
// (a waiting one holds no KDF memory); past that the call returns ErrBusy
// at once, so a flood is refused in constant time instead of queueing
// without bound.
//
// A derivation works in argon2id memory that the Hasher keeps for the
// next one (on unix mapped outside the Go heap), so that logins make no
// garbage: at most one memory cost per derivation running at once. The
// most recently used memory is handed out first, so that one login at a
// time keeps one memory cost however many slots there are; each memory is
// let go once it has not been used for MemoryIdle. A stored hash with a
// larger memory cost than h's (imported from Django, say) is checked in
// memory of its own, freed after.
type Hasher struct {
	params    Params
	dummySalt []byte
	dummyKey  []byte
	// admitted holds one token per derivation running or waiting
	// (capacity: slots plus the queue); slots one per derivation running,
	// a channel so that a waiter can give up when its ctx ends. free holds
	// the memories of the others, in a stack, since the order matters.
	admitted chan struct{}
	slots    chan struct{}

	mu         sync.Mutex
	free       []*slotMemory // the memories not in use, the most recently used last
	idle       *time.Timer   // runs release; armed while a free memory keeps any
	armed      bool
	memoryIdle time.Duration // MemoryIdle; shorter in tests
}

// slotMemory is argon2id memory kept between derivations, and when it was
// last used.
type slotMemory struct {
	mem  *argon2.Memory
	used time.Time
}

// MemoryIdle is how long argon2id memory is kept after the derivation that
// last used it.
const MemoryIdle = 10 * time.Second

// Option configures a Hasher.
type Option func(*hasherLimits)

type hasherLimits struct{ workers, queue int }

// WithQueue sets how many key derivations may wait for a free slot
// (n >= 0; 0 refuses any that cannot start at once).
func WithQueue(n int) Option { return func(l *hasherLimits) { l.queue = max(n, 0) } }

// withWorkers sets how many derivations run at once (GOMAXPROCS unless
// set); the tests use it to have more slots than the machine has cores.
func withWorkers(n int) Option { return func(l *hasherLimits) { l.workers = max(n, 1) } }

// kdf runs f in one of the Hasher's derivation slots, waiting for one if
// the queue has room, or returns ErrBusy. A caller whose ctx ends while
// it waits (a client that hung up) leaves the queue with ctx's error, so
// that no derivation runs for an answer nobody will read.
func (h *Hasher) kdf(ctx context.Context, f func(mem *argon2.Memory)) error {
	select {
	case h.admitted <- struct{}{}:
	default:
		return ErrBusy
	}
	defer func() { <-h.admitted }()
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.slots }()
	m := h.take()
	defer h.give(m)
	f(m.mem)
	return nil
}

// take pops the most recently used free memory; there is one for every
// slot, so a caller holding a slot always gets one.
func (h *Hasher) take() *slotMemory {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.free[len(h.free)-1]
	h.free = h.free[:len(h.free)-1]
	return m
}

// give puts m back on top, and arms the timer that lets go of memory left
// unused, unless it is armed: a steady trickle of derivations must not
// keep postponing it.
func (h *Hasher) give(m *slotMemory) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m.used = time.Now()
	h.free = append(h.free, m)
	if !h.armed && m.mem.Bytes() > 0 {
		h.armed = true
		h.idle.Reset(h.memoryIdle)
	}
}

// release lets go of every free memory unused for memoryIdle, and arms the
// timer again for the next one to come due, if any still keeps memory.
func (h *Hasher) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	next := time.Duration(-1)
	for _, m := range h.free {
		if m.mem.Bytes() == 0 {
			continue
		}
		left := h.memoryIdle - now.Sub(m.used)
		if left <= 0 {
			m.mem.Release()
			continue
		}
		if next < 0 || left < next {
			next = left
		}
	}
	h.armed = next >= 0
	if h.armed {
		h.idle.Reset(next)
	}
}

// NewHasher returns a Hasher for p, or an error saying which parameter is out
// of range (see Params.Validate). It runs at most GOMAXPROCS derivations at
// once, with DefaultQueue waiting unless WithQueue is given.
func NewHasher(p Params, opts ...Option) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	l := hasherLimits{workers: runtime.GOMAXPROCS(0), queue: DefaultQueue}
	for _, o := range opts {
		o(&l)
	}
	h := &Hasher{params: p, dummySalt: make([]byte, p.SaltLen), dummyKey: make([]byte, p.KeyLen),
		admitted: make(chan struct{}, l.workers+l.queue), slots: make(chan struct{}, l.workers), memoryIdle: MemoryIdle}
	for range l.workers {
		h.free = append(h.free, &slotMemory{mem: argon2.NewMemory(p.MemoryKiB)})
	}
	h.idle = time.AfterFunc(time.Hour, h.release) // made stopped: give arms it
	h.idle.Stop()
	if _, err := rand.Read(h.dummySalt); err != nil {
		return nil, fmt.Errorf("passwords: dummy salt: %w", err)
	}
	if _, err := rand.Read(h.dummyKey); err != nil {
		return nil, fmt.Errorf("passwords: dummy key: %w", err)
	}
	return h, nil
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id hash of password with a fresh random salt, in PHC
// string form: $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<key>, with
// salt and key in unpadded standard base64. It returns ErrPasswordTooLong for
// a password over MaxPasswordBytes, and ErrBusy when the queue is full.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passwords: salt: %w", err)
	}
	a := argonHash{variant: "argon2id", params: h.params, salt: salt}
	if err := h.kdf(ctx, func(mem *argon2.Memory) { a.key = a.derive(mem, password) }); err != nil {
		return "", err
	}
	return a.String(), nil
}

// Verify checks password against encoded, which may be argon2id or argon2i in
// PHC form, bcrypt ($2a$, $2b$, $2y$), or one of Django's pbkdf2_sha256,
// bcrypt, bcrypt_sha256 and argon2 formats. The final comparison is constant
// time.
//
// A wrong password gives ok=false and err=nil. A hash that is malformed, of an
// unknown algorithm, or whose cost is out of bounds gives ok=false and an error
// matching ErrMalformedHash. A password over MaxPasswordBytes gives ok=false at
// once. ErrBusy (ok=false) means the check was refused because the queue
// is full, and says nothing about the password. needsRehash is true only when ok is true and encoded is not argon2id
// in PHC form with exactly h's parameters; the caller should then store
// h.Hash(ctx, password).
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	v, err := parse(encoded)
	if err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	var match bool
	if err := h.kdf(ctx, func(mem *argon2.Memory) { match = v.verify(mem, password) }); err != nil {
		return false, false, err
	}
	if !match {
		return false, false, nil
	}
	return true, !v.current(h.params), nil
}

// VerifyDummy does the work of verifying password against an argon2id hash
// with h's parameters and throws the answer away. Call it when the user is
// unknown so that an unknown email and a wrong password take about as long.
// It returns ErrBusy, as Verify does, when the queue is full, so an unknown
// email and a known one are refused alike.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	if len(password) > MaxPasswordBytes {
		return nil
	}
	return h.kdf(ctx, func(mem *argon2.Memory) {
		key := argon2.IDKey(mem, []byte(password), h.dummySalt, h.params.Time, h.params.MemoryKiB, h.params.Threads, h.params.KeyLen)
		subtle.ConstantTimeCompare(key, h.dummyKey)
	})
}

// verifier is one parsed stored hash.
type verifier interface {
	// verify reports whether password matches, in constant time; an
	// argon2 hash works in mem.
	verify(mem *argon2.Memory, password string) bool
	// current reports whether the hash is argon2id PHC made with p.
	current(p Params) bool
}

// parse recognises the format of encoded and parses it.
func parse(encoded string) (verifier, error) {
	var (
		v   verifier
		err error
	)
	switch {
	case strings.HasPrefix(encoded, "$argon2"):
		v, err = parseArgon(encoded, false)
	case strings.HasPrefix(encoded, "argon2$"):
		v, err = parseArgon(strings.TrimPrefix(encoded, "argon2"), true)
	case strings.HasPrefix(encoded, "$2"):
		v, err = parseBcrypt(encoded, false)
	case strings.HasPrefix(encoded, "bcrypt$"):
		v, err = parseBcrypt(strings.TrimPrefix(encoded, "bcrypt$"), false)
	case strings.HasPrefix(encoded, "bcrypt_sha256$"):
		v, err = parseBcrypt(strings.TrimPrefix(encoded, "bcrypt_sha256$"), true)
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"):
		v, err = parsePBKDF2(encoded)
	default:
		return nil, fmt.Errorf("%w: unknown algorithm", ErrMalformedHash)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}
