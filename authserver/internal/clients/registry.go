package clients

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
)

// SlowHasher verifies and creates the argon2id hashes of secrets a person
// chose; *passwords.Hasher implements it.
type SlowHasher interface {
	Hash(ctx context.Context, secret string) (string, error)
	Verify(ctx context.Context, encoded, secret string) (ok, needsRehash bool, err error)
}

// Generations reads the token store's revocation generation
// (tokens.Store.Generation), which a client record carries from before it
// was read (Client.Checked).
type Generations interface {
	Generation(ctx context.Context) (int64, error)
}

// Registry authenticates clients. Client records are cached in process for
// a short TTL, so a token request costs no SQL query for its client. A
// change in this process is seen at once; in another, when the change's
// event arrives (Forget, from tokens.Store.WatchRevocations), and within
// the TTL should the event be lost. Safe for concurrent use.
type Registry struct {
	store    *Store
	slow     SlowHasher
	gens     Generations
	byID     *expirable.LRU[string, Client]
	verified *expirable.LRU[[32]byte, struct{}]
	cacheKey []byte
	mu       sync.Mutex    // orders cache fills against Forget
	forgets  atomic.Uint64 // bumped by every Forget, under mu
}

// NewRegistry returns a Registry caching up to 10,000 clients for ttl. A
// ttl of zero or less turns the client cache off (expirable.LRU would
// otherwise read it as "never expire").
func NewRegistry(store *Store, slow SlowHasher, ttl time.Duration) *Registry {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	r := &Registry{
		store:    store,
		slow:     slow,
		verified: expirable.NewLRU[[32]byte, struct{}](10000, nil, time.Hour),
		cacheKey: key,
	}
	if ttl > 0 {
		r.byID = expirable.NewLRU[string, Client](10000, nil, ttl)
	}
	return r
}

// CheckGenerations makes every client read from the database carry the
// generation read just before (Client.Checked), so that the token store
// refuses tokens for a client changed since. Call it before the Registry
// is shared; without it Checked is 0.
func (r *Registry) CheckGenerations(g Generations) { r.gens = g }

// Store returns the underlying store.
func (r *Registry) Store() *Store { return r.store }

// Get returns a client by id, from the cache when it can. ErrNotFound if
// there is no such client.
func (r *Registry) Get(ctx context.Context, clientID string) (Client, error) {
	if r.byID != nil {
		if c, ok := r.byID.Get(clientID); ok {
			return c, nil
		}
	}
	forgets := r.forgets.Load()
	c, err := r.load(ctx, clientID)
	if err != nil || r.byID == nil {
		return c, err
	}
	// A Forget that came during the load may be about a change the load
	// did not see: then the record is not cached.
	r.mu.Lock()
	if r.forgets.Load() == forgets {
		r.byID.Add(clientID, c)
	}
	r.mu.Unlock()
	return c, nil
}

// load reads a client from the database, with the generation read before.
func (r *Registry) load(ctx context.Context, clientID string) (Client, error) {
	var gen int64
	if r.gens != nil {
		g, err := r.gens.Generation(ctx)
		if err != nil {
			return Client{}, fmt.Errorf("clients: get: %w", err)
		}
		gen = g
	}
	c, err := r.store.ByClientID(ctx, clientID)
	if err != nil {
		return Client{}, err
	}
	c.Checked = gen
	return c, nil
}

// Forget drops a client from the cache, after a change or a deletion.
func (r *Registry) Forget(clientID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgets.Add(1)
	if r.byID != nil {
		r.byID.Remove(clientID)
	}
}

// ForgetAll empties the cache (revocation events may have been missed).
func (r *Registry) ForgetAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgets.Add(1)
	if r.byID != nil {
		r.byID.Purge()
	}
}

// Authenticate checks a client id and secret (RFC 6749 §2.3.1). A public
// client authenticates with its id alone (a secret sent by a public client
// is refused); a confidential one must send its secret. Every failure is
// ErrInvalidClient, or another error when no verdict could be reached: a
// store error (the database down), or an argon2id secret check refused
// (passwords.Refused: the queue full, or ctx ended).
func (r *Registry) Authenticate(ctx context.Context, clientID, secret string, secretSent bool) (Client, error) {
	c, err := r.Get(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return Client{}, ErrInvalidClient
	}
	if err != nil {
		return Client{}, err
	}
	if c.IsPublic() {
		if secretSent && secret != "" {
			return Client{}, ErrInvalidClient
		}
		return c, nil
	}
	if !secretSent {
		return Client{}, ErrInvalidClient
	}
	ok, err := r.verifySecret(ctx, c, secret)
	if err != nil {
		return Client{}, err
	}
	if !ok {
		return Client{}, ErrInvalidClient
	}
	return c, nil
}

// VerifySecret checks secret against c's stored hash in constant time. A
// check that could not run (every argon2id slot busy and the queue full)
// reports false.
func (r *Registry) VerifySecret(c Client, secret string) bool {
	ok, err := r.verifySecret(context.Background(), c, secret)
	return err == nil && ok
}

// verifySecret is VerifySecret for a request: an argon2id check waiting
// for a derivation slot gives up when ctx ends. An error means no check
// ran (passwords.Refused: the queue was full, or ctx ended), which says
// nothing about the secret: the request should be answered 503, not
// invalid_client.
func (r *Registry) verifySecret(ctx context.Context, c Client, secret string) (bool, error) {
	if c.SecretHash == "" {
		return false, nil
	}
	if isHMAC(c.SecretHash) {
		ok, err := verifyHMAC(c.SecretHash, secret)
		return err == nil && ok, nil
	}
	k := r.verifiedKey(c, secret)
	if _, ok := r.verified.Get(k); ok {
		return true, nil
	}
	ok, _, err := r.slow.Verify(ctx, c.SecretHash, secret)
	if passwords.Refused(err) {
		return false, fmt.Errorf("clients: secret check refused: %w", err)
	}
	if err != nil || !ok {
		return false, nil
	}
	r.verified.Add(k, struct{}{})
	return true, nil
}

// verifiedKey names a positive verification without holding the secret: an
// HMAC under a per-process random key, over the client id, its stored hash
// (so a changed secret never matches) and the secret.
func (r *Registry) verifiedKey(c Client, secret string) [32]byte {
	h := hmac.New(sha256.New, r.cacheKey)
	h.Write([]byte(c.ClientID))
	h.Write([]byte{0})
	h.Write([]byte(c.SecretHash))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// HashSecret returns the stored form of a secret: a fast HMAC when
// generated is true (the server made it), argon2id otherwise.
func (r *Registry) HashSecret(secret string, generated bool) (string, error) {
	if generated {
		return HashGeneratedSecret(secret), nil
	}
	return r.slow.Hash(context.Background(), secret)
}
