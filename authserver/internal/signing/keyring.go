package signing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// State is where a key is in its life.
type State string

// The states of a key, in order.
const (
	// Pending keys are published in JWKS but do not sign yet.
	Pending State = "published"
	// Signing is the one key per algorithm that signs new id tokens.
	Signing State = "signing"
	// Superseded keys sign nothing new but stay published until the last
	// id token they signed has expired.
	Superseded State = "published (superseded)"
	// Retired keys are no longer published: nothing they signed verifies.
	Retired State = "retired"
)

// Listed is a key with its state at the time of listing.
type Listed struct {
	Key
	State State
	// Until is when the key leaves its state: a pending key starts
	// signing, a superseded key retires. Zero for the others.
	Until time.Time
}

// ErrNoKey is an algorithm with no signing key yet.
var ErrNoKey = errors.New("signing: no signing key for the algorithm")

// DefaultReload is how long a Keyring reuses the keys it read: a key added
// by `keys rotate` (or by another replica) is seen this long after.
const DefaultReload = 10 * time.Second

// Keyring holds the keys in memory, signs with them and publishes them.
// It rereads the database at most every Reload, so replicas and the CLI
// agree through the table alone. Safe for concurrent use.
type Keyring struct {
	store store
	// idTTL is the id token lifetime: how long a superseded key stays
	// published.
	idTTL  time.Duration
	reload time.Duration
	now    func() time.Time

	mu     sync.Mutex
	keys   []Key // the published ones (pending, signing, superseded), with private halves
	loaded time.Time
}

// NewKeyring returns a Keyring over the signing_keys table of db, sealing
// private keys with kek. idTokenTTL is how long an id token lives.
func NewKeyring(db *database.DB, kek *KEK, idTokenTTL time.Duration) *Keyring {
	return &Keyring{store: store{db: db, kek: kek}, idTTL: idTokenTTL, reload: DefaultReload, now: time.Now}
}

// SetClock replaces the clock and the reload interval (tests).
func (r *Keyring) SetClock(now func() time.Time, reload time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now, r.reload, r.loaded = now, reload, time.Time{}
}

// states computes each key's state at now. Keys of one algorithm take
// turns: a key signs from its SignsFrom until the next key's.
func states(keys []Key, now time.Time, idTTL time.Duration) []Listed {
	out := make([]Listed, 0, len(keys))
	for i, k := range keys {
		l := Listed{Key: k}
		var next time.Time
		for _, n := range keys[i+1:] {
			if n.Alg == k.Alg {
				next = n.SignsFrom
				break
			}
		}
		switch {
		case k.SignsFrom.After(now):
			l.State, l.Until = Pending, k.SignsFrom
		case next.IsZero() || next.After(now):
			l.State, l.Until = Signing, next
		case now.Before(next.Add(idTTL)):
			l.State, l.Until = Superseded, next.Add(idTTL)
		default:
			l.State = Retired
		}
		out = append(out, l)
	}
	return out
}

// List returns every key with its state, oldest first per algorithm.
func (r *Keyring) List(ctx context.Context) ([]Listed, error) {
	rows, err := r.store.all(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]Key, 0, len(rows))
	for _, row := range rows {
		k, err := r.store.decode(row, false)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return states(keys, r.now(), r.idTTL), nil
}

// Ensure gives every algorithm a signing key, creating one that signs at
// once where there is none (nothing can have been signed before it).
func (r *Keyring) Ensure(ctx context.Context) error {
	ls, err := r.List(ctx)
	if err != nil {
		return err
	}
	for _, alg := range Algorithms {
		if slices.ContainsFunc(ls, func(l Listed) bool { return l.Alg == alg }) {
			continue
		}
		now := r.now()
		if _, err := r.store.create(ctx, alg, now, now); err != nil {
			return err
		}
	}
	r.invalidate()
	return nil
}

// Rotate creates a new key for each of algs that is published at once and
// signs from after on; the key it replaces stays published until the id
// tokens it signed have expired. after should exceed how long JWKS may be
// cached (JWKSMaxAge) plus the keyrings' reload interval.
func (r *Keyring) Rotate(ctx context.Context, algs []string, after time.Duration) ([]Key, error) {
	var out []Key
	for _, alg := range algs {
		now := r.now()
		k, err := r.store.create(ctx, alg, now, now.Add(after))
		if err != nil {
			return out, err
		}
		out = append(out, k)
	}
	r.invalidate()
	return out, nil
}

func (r *Keyring) invalidate() {
	r.mu.Lock()
	r.loaded = time.Time{}
	r.mu.Unlock()
}

// published returns the published keys with their private halves,
// rereading the table when the copy is older than the reload interval. A
// failed reread keeps the keys already held, if any.
func (r *Keyring) published(ctx context.Context) ([]Key, time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !r.loaded.IsZero() && now.Sub(r.loaded) < r.reload {
		return r.keys, now, nil
	}
	keys, err := r.load(ctx, now)
	if err != nil {
		if r.keys != nil {
			return r.keys, now, nil
		}
		return nil, now, err
	}
	r.keys, r.loaded = keys, now
	return keys, now, nil
}

func (r *Keyring) load(ctx context.Context, now time.Time) ([]Key, error) {
	rows, err := r.store.all(ctx)
	if err != nil {
		return nil, err
	}
	public := make([]Key, 0, len(rows))
	for _, row := range rows {
		k, err := r.store.decode(row, false)
		if err != nil {
			return nil, err
		}
		public = append(public, k)
	}
	held := make(map[string]Key, len(r.keys))
	for _, k := range r.keys {
		held[k.KID] = k
	}
	var keys []Key
	for i, l := range states(public, now, r.idTTL) {
		if l.State == Retired {
			continue
		}
		if k, ok := held[l.KID]; ok { // already decrypted
			keys = append(keys, k)
			continue
		}
		k, err := r.store.decode(rows[i], true)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// JWKS returns the published public keys (RFC 7517 §5), each with its kid,
// alg and use.
func (r *Keyring) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	keys, _, err := r.published(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.Public)
	}
	return set, nil
}

// signer returns the key of alg that signs at now.
func (r *Keyring) signer(ctx context.Context, alg string) (Key, error) {
	if alg != RS256 && alg != ES256 {
		return Key{}, ErrAlgorithm
	}
	keys, now, err := r.published(ctx)
	if err != nil {
		return Key{}, err
	}
	var best Key
	for _, k := range keys {
		if k.Alg == alg && !k.SignsFrom.After(now) {
			best = k // keys are ordered by SignsFrom: the last one wins
		}
	}
	if best.KID == "" {
		return Key{}, ErrNoKey
	}
	return best, nil
}

// Sign signs payload (a JSON claims object) as a compact JWS of type JWT
// with the current key of alg. Errors: ErrAlgorithm, ErrNoKey, database
// errors.
func (r *Keyring) Sign(ctx context.Context, alg string, payload []byte) (string, error) {
	k, err := r.signer(ctx, alg)
	if err != nil {
		return "", err
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: k.private, KeyID: k.KID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("signing: sign: %w", err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// ErrInvalidSignature is a JWS that no published key verifies.
var ErrInvalidSignature = errors.New("signing: signature does not verify under a published key")

// Verify checks a compact JWS signed by one of the published keys and
// returns its payload. It checks nothing in the payload. Errors:
// ErrInvalidSignature, database errors.
func (r *Keyring) Verify(ctx context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, ErrInvalidSignature
	}
	keys, _, err := r.published(ctx)
	if err != nil {
		return nil, err
	}
	h := jws.Signatures[0].Header
	for _, k := range keys {
		if k.KID == h.KeyID && k.Alg == h.Algorithm {
			if p, err := jws.Verify(k.Public); err == nil {
				return p, nil
			}
		}
	}
	return nil, ErrInvalidSignature
}
