package tokens

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// Errors returned by Store. Callers map them to OAuth errors.
var (
	// ErrNotFound: unknown, expired, revoked, malformed, or belongs to
	// another client.
	ErrNotFound = errors.New("tokens: not found")
	// ErrReplayed: a refresh token that was already rotated away was
	// presented again; its whole family has been revoked.
	ErrReplayed = errors.New("tokens: refresh token replayed")
	// ErrUnavailable wraps every Redis failure (down, timeout).
	ErrUnavailable = errors.New("tokens: store unavailable")
	// ErrScope: Rotate was asked for a scope wider than the family's.
	ErrScope = errors.New("tokens: scope exceeds the granted scope")
)

// Grant is what a token family was granted for.
type Grant struct {
	ClientID string
	UserID   int64  // 0 when the grant has no user (client_credentials)
	Username string // the user's email; "" when UserID is 0
	Scope    string // space-separated, already validated
}

// Lifetimes of the tokens a Store issues.
type Lifetimes struct {
	Access  time.Duration
	Refresh time.Duration
}

// Issued is the result of Issue and Rotate. RefreshToken is "" when none was
// asked for.
type Issued struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	Family           string
	Scope            string
}

// Access is a live access token's record.
type Access struct {
	Grant
	Family    string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Refresh is a live (not yet rotated) refresh token's record. Scope is the
// scope originally granted to the family, the ceiling for narrowing.
type Refresh struct {
	Grant
	Family    string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Defaults of the tunables that have no constructor argument.
const (
	// defaultReuseGrace: a refresh token presented again less than this
	// long after it was rotated away is taken for a concurrent duplicate
	// (a client retrying, two tabs): ErrNotFound, the family lives. Later
	// than that it is a replay: ErrReplayed, the family is revoked.
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
	cache    *accessCache                    // nil unless CacheAccessTokens
	origin   string                          // this Store's revocation.Event Origin
	known    knownBuckets                    // index buckets this process registered
	rotation atomic.Pointer[encodedRotation] // this second's, see rotationEvent
}

// New returns a Store. prefix is REDIS_PREFIX and goes on every key and on
// the revocation channel; it must not contain '{' or '}' (Redis Cluster hash
// tags). Both lifetimes must be positive.
func New(rc rueidis.Client, prefix string, life Lifetimes) *Store {
	var id [8]byte
	_, _ = crand.Read(id[:]) // never fails (crypto/rand)
	return &Store{rc: rc, rdb: redis.NewAdapter(rc), prefix: prefix, life: life, now: time.Now, grace: defaultReuseGrace, origin: hex.EncodeToString(id[:])}
}

// unavailable wraps a Redis failure. The command may still have run (a
// lost reply, a half-done batch), deleting tokens without this process
// evicting them and with its own echo skipped: so the access-token cache is
// emptied, which is always safe. Redis may also have lost data (a restart,
// a failover), so the index buckets this process knew to be registered
// are forgotten, and registered again on their next write.
func (s *Store) unavailable(op string, err error) error {
	s.cache.purge()
	s.known.forget()
	return fmt.Errorf("tokens: %s: %w: %w", op, ErrUnavailable, err)
}

// famTTL is how long a family with a refresh token lives after an issue or
// a rotation.
func (s *Store) famTTL() time.Duration { return max(s.life.Access, s.life.Refresh) }

// Issue starts a new family: an access token and, when withRefresh, a
// refresh token. It takes one round trip; the user and client indexes are
// written in it before the tokens. Errors: ErrUnavailable.
func (s *Store) Issue(ctx context.Context, g Grant, withRefresh bool) (Issued, error) {
	if s.life.Access <= 0 || withRefresh && s.life.Refresh <= 0 {
		return Issued{}, errors.New("tokens: issue: lifetimes must be positive")
	}
	fam, err := newFamily()
	if err != nil {
		return Issued{}, err
	}
	return s.issueIn(ctx, g, withRefresh, fam)
}

// issueIn is Issue in a given family (an authorization code reserves its
// family in advance, so that a replay can revoke what it produced).
func (s *Store) issueIn(ctx context.Context, g Grant, withRefresh bool, fam string) (Issued, error) {
	at, err := newToken(accessPrefix, fam)
	if err != nil {
		return Issued{}, err
	}
	now := s.now().Truncate(time.Second)
	out := Issued{AccessToken: at, AccessExpiresAt: now.Add(s.life.Access), Family: fam, Scope: g.Scope}
	atH, atHex := hashForms(at)
	atVal := encodeRecord(record{Grant: g, IssuedAt: now, ExpiresAt: out.AccessExpiresAt})

	keys := []string{s.keyAT(fam, atH)}
	args := []any{atVal, s.life.Access.Milliseconds()}
	member, famExp := fam+atH, out.AccessExpiresAt
	if withRefresh {
		rt, err := newToken(refreshPrefix, fam)
		if err != nil {
			return Issued{}, err
		}
		out.RefreshToken, out.RefreshExpiresAt = rt, now.Add(s.life.Refresh)
		rtH := keyHash(rt)
		rtVal := encodeRecord(record{Grant: g, IssuedAt: now, ExpiresAt: out.RefreshExpiresAt})
		keys = append(keys, s.keyRT(fam, rtH), s.keyFam(fam))
		// The family's index entries are set to outlive it twice over,
		// so that rotations within the next famTTL need not touch the
		// indexes; the horizon is kept in the family hash ('x').
		member, famExp = fam, s.indexHorizon()
		args = append(args, rtVal, s.life.Refresh.Milliseconds(), s.famTTL().Milliseconds(), g.ClientID, atH, rtH, famExp.UnixMilli(),
			string(appendGrantBody(nil, g)), g.Scope, atHex)
	}
	var registered []string
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		registered = s.queueIndex(ctx, p, g, member, famExp)
		if withRefresh {
			issueScript.EvalSha(ctx, p, keys, args...)
		} else { // one key: no script needed
			p.Set(ctx, keys[0], atVal, s.life.Access)
		}
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return Issued{}, s.unavailable("issue", err)
	}
	s.known.add(registered, now)
	return out, nil
}

// indexHorizon is how long a refresh family's index entries are made to
// live: twice the family's own lifetime from now. Rotate raises them only
// once a family could outlive them.
func (s *Store) indexHorizon() time.Time { return s.now().Add(2 * s.famTTL()) }

func firstErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	return nil
}

// get reads one record; ErrNotFound when the key is absent or expired.
func (s *Store) get(ctx context.Context, op, key string) (record, error) {
	v, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return record{}, ErrNotFound
	}
	if err != nil {
		return record{}, s.unavailable(op, err)
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return record{}, fmt.Errorf("tokens: %s: %w", op, err)
	}
	if !rec.ExpiresAt.After(s.now()) {
		return record{}, ErrNotFound
	}
	return rec, nil
}

// LookupAccess returns a live access token in one Redis round trip, or none
// when it is in the access-token cache (a malformed token costs none; an
// imported one costs one more, for its alias: see import.go).
// Errors: ErrNotFound, ErrUnavailable.
func (s *Store) LookupAccess(ctx context.Context, token string) (Access, error) {
	fam, h, ok, err := s.tokenKey(ctx, token, accessPrefix)
	if err != nil {
		return Access{}, err
	}
	if !ok {
		return Access{}, ErrNotFound
	}
	rec, hit := s.cache.get(h)
	if hit && !rec.ExpiresAt.After(s.now()) {
		return Access{}, ErrNotFound
	}
	if !hit {
		gen, cacheable := s.cache.begin()
		var err error
		if rec, err = s.get(ctx, "lookup access", s.keyAT(fam, h)); err != nil {
			return Access{}, err
		}
		if cacheable {
			s.cache.add(gen, h, rec)
		}
	}
	return Access{Grant: rec.Grant, Family: fam, IssuedAt: rec.IssuedAt, ExpiresAt: rec.ExpiresAt}, nil
}

// LookupRefresh returns a live refresh token in one round trip. Errors:
// ErrNotFound, ErrUnavailable.
func (s *Store) LookupRefresh(ctx context.Context, token string) (Refresh, error) {
	fam, h, ok, err := s.tokenKey(ctx, token, refreshPrefix)
	if err != nil {
		return Refresh{}, err
	}
	if !ok {
		return Refresh{}, ErrNotFound
	}
	rec, err := s.get(ctx, "lookup refresh", s.keyRT(fam, h))
	if err != nil {
		return Refresh{}, err
	}
	return Refresh{Grant: rec.Grant, Family: fam, IssuedAt: rec.IssuedAt, ExpiresAt: rec.ExpiresAt}, nil
}

// Rotate atomically consumes refreshToken (which must belong to clientID)
// and issues a new access and refresh token in the same family with scope
// newScope ("" means the family's scope; a scope wider than what the family
// was first granted gives ErrScope and changes nothing). The previous
// access token of the family is deleted, and its revocation published by
// the same script. Exactly one of many concurrent calls with the same token
// succeeds; the others get ErrNotFound. A token rotated away earlier (more
// than a two-second grace ago) gives ErrReplayed and revokes the family.
// A refresh token of another client gives ErrNotFound and changes nothing.
// One round trip; a second, about once per family lifetime, when the family
// reaches the horizon of its index entries and they must be raised.
// Errors: ErrNotFound, ErrReplayed, ErrScope, ErrUnavailable.
func (s *Store) Rotate(ctx context.Context, refreshToken, clientID, newScope string) (Issued, error) {
	fam, h, ok, err := s.tokenKey(ctx, refreshToken, refreshPrefix)
	if err != nil {
		return Issued{}, err
	}
	if !ok {
		return Issued{}, ErrNotFound
	}
	if newScope != "" { // the script compares words: give it a clean set
		asked, err := scope.Parse(newScope)
		if err != nil {
			return Issued{}, ErrScope
		}
		newScope = asked.String()
	}
	now := s.now()
	iat := now.Truncate(time.Second)
	at, err := newToken(accessPrefix, fam)
	if err != nil {
		return Issued{}, err
	}
	rt, err := newToken(refreshPrefix, fam)
	if err != nil {
		return Issued{}, err
	}
	out := Issued{
		AccessToken: at, AccessExpiresAt: iat.Add(s.life.Access),
		RefreshToken: rt, RefreshExpiresAt: iat.Add(s.life.Refresh),
		Family: fam,
	}
	atH, atHex := hashForms(at)
	rtH := keyHash(rt)
	presentedHex := hexHash(h) // the refresh token being consumed, named in the event
	// The event names the rotated-away access token, which only the script
	// knows: it goes between evHead and evTail.
	ev, err := s.rotationEvent(iat.Unix())
	if err != nil {
		return Issued{}, err
	}
	evHead, evTail := ev.head, ev.mid+presentedHex+ev.tail
	// Trimming the tombstones costs a command; once in trimEvery rotations
	// keeps them near maxTombstones.
	trim := ""
	if rand.N(trimEvery) == 0 {
		trim = strconv.Itoa(maxTombstones)
	}
	keys := []string{s.keyFam(fam), s.keyRT(fam, h), s.keyTomb(fam), s.keyAT(fam, atH), s.keyRT(fam, rtH)}
	args := []any{h, clientID, now.UnixMilli(), s.grace.Milliseconds(), atH, rtH,
		string(appendTimes(nil, iat, out.AccessExpiresAt)), string(appendTimes(nil, iat, out.RefreshExpiresAt)), newScope,
		s.life.Access.Milliseconds(), s.life.Refresh.Milliseconds(), s.famTTL().Milliseconds(), trim,
		s.keyAT(fam, ""), s.keyRT(fam, ""), revocation.Channel(s.prefix), evHead, evTail, "", "", atHex}
	res, err := s.runRotate(ctx, keys, args)
	if err == nil && res[0] == "legacy" {
		// A family issued before the family hash kept its grant: read it
		// from the refresh record, once; the script stores it.
		rec, gerr := s.get(ctx, "rotate", s.keyRT(fam, h))
		if gerr != nil {
			return Issued{}, gerr
		}
		args[18], args[19] = string(appendGrantBody(nil, rec.Grant)), rec.Scope
		res, err = s.runRotate(ctx, keys, args)
	}
	if err != nil {
		return Issued{}, err
	}
	switch res[0] {
	case "ok":
		if len(res) != 5 {
			return Issued{}, fmt.Errorf("tokens: rotate: bad script reply")
		}
		out.Scope = res[1]
		s.cache.apply(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{res[2], presentedHex}})
		s.revoked("rotation") // the script published it
		if res[3] == "1" {
			s.extend(ctx, fam, atH, rtH, res[4], out)
		}
		return out, nil
	case "scope":
		return Issued{}, ErrScope
	case "replayed":
		if err := s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: hexAll(res[1:]), Reason: "replay"}); err != nil {
			return Issued{}, fmt.Errorf("%w (%w)", ErrReplayed, err)
		}
		return Issued{}, ErrReplayed
	default: // "notfound", "race", and "legacy" twice
		return Issued{}, ErrNotFound
	}
}

// encodedRotation is the revocation event of the rotations in one second,
// encoded around its two hashes: head, the rotated-away access token's,
// mid, the presented refresh token's, tail.
type encodedRotation struct {
	at              int64
	head, mid, tail string
}

// rotationEvent returns the encoded rotation event for the second at,
// encoding it once per second rather than once per rotation.
func (s *Store) rotationEvent(at int64) (*encodedRotation, error) {
	if e := s.rotation.Load(); e != nil && e.at == at {
		return e, nil
	}
	// Two valid hashes that cannot occur elsewhere in the encoding.
	slotA, slotB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	b, err := revocation.Encode(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{slotA, slotB},
		Reason: "rotation", At: at, Origin: s.origin})
	if err != nil {
		return nil, fmt.Errorf("tokens: rotate: %w", err)
	}
	head, rest, _ := strings.Cut(string(b), slotA)
	mid, tail, _ := strings.Cut(rest, slotB)
	e := &encodedRotation{at: at, head: head, mid: mid, tail: tail}
	s.rotation.Store(e)
	return e, nil
}

// runRotate runs rotateScript; its reply has at least one element.
func (s *Store) runRotate(ctx context.Context, keys []string, args []any) ([]string, error) {
	var rot *redis.Cmd
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		rot = rotateScript.EvalSha(ctx, p, keys, args...)
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return nil, s.unavailable("rotate", err)
	}
	res, err := rot.StringSlice()
	if err != nil {
		return nil, s.unavailable("rotate", err)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("tokens: rotate: empty script reply")
	}
	return res, nil
}

// extend raises the index entries of a family that reached their horizon
// (puts the family into the buckets of a new horizon; see queueIndex),
// then, once they are raised, gives the family's keys their full lifetime
// back (the rotation capped them at the old horizon, so that the family
// never outlives its index entries). body is the family's grant body,
// which names its indexes. It runs to the end even if the caller goes
// away. A failure is left for the family's next rotation, which asks
// again: the tokens just issued stand, living no longer than the old
// horizon until then.
func (s *Store) extend(ctx context.Context, fam, atH, rtH, body string, out Issued) {
	ctx = context.WithoutCancel(ctx)
	rec, err := decodeRecord(string(appendTimes(nil, out.AccessExpiresAt, out.AccessExpiresAt)) + body)
	if err != nil {
		return
	}
	horizon := s.indexHorizon()
	var registered []string
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		registered = s.queueIndex(ctx, p, rec.Grant, fam, horizon)
	})
	if err != nil || firstErr(cmds) != nil {
		s.known.forget()
		return
	}
	s.known.add(registered, s.now())
	famExp := s.now().Add(s.famTTL())
	_, _ = s.pipelined(ctx, func(p redis.Pipeliner) {
		extendScript.EvalSha(ctx, p, []string{s.keyFam(fam), s.keyTomb(fam), s.keyAT(fam, atH), s.keyRT(fam, rtH)},
			horizon.UnixMilli(), famExp.UnixMilli(), out.AccessExpiresAt.UnixMilli(), out.RefreshExpiresAt.UnixMilli())
	})
}

// hexAll converts key-form hashes to event form, dropping empty ones.
func hexAll(hs []string) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		if x := hexHash(h); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// publish sends e on the deployment's revocation channel.
func (s *Store) publish(ctx context.Context, e revocation.Event) error {
	e.At, e.Origin = s.now().Unix(), s.origin
	b, err := revocation.Encode(e)
	if err != nil {
		return fmt.Errorf("tokens: publish: %w", err)
	}
	// Evict here first: this process must not answer from what it revoked,
	// even when the event cannot be sent.
	s.cache.apply(e)
	if err := s.rdb.Publish(ctx, revocation.Channel(s.prefix), b).Err(); err != nil {
		return s.unavailable("publish", err)
	}
	s.revoked(e.Reason)
	return nil
}

// ObserveRevocations sets f to be called with the reason of every
// revocation the store publishes (for metrics). Call it before the Store is
// shared: it is not synchronised.
func (s *Store) ObserveRevocations(f func(reason string)) { s.onRevoke = f }

func (s *Store) revoked(reason string) {
	if s.onRevoke != nil {
		s.onRevoke(reason)
	}
}

// RevokeToken revokes token if it is an access or refresh token of
// clientID; hint ("access_token", "refresh_token" or "") says which to try
// first. A refresh token revokes its whole family. Unknown or foreign
// tokens are not an error: found reports whether anything was revoked.
// The token's type prefix already says what it is, so the hint changes
// nothing (RFC 7009 §2.1 lets the server search all types). Errors:
// ErrUnavailable (also when the event could not be published; the token is
// revoked then).
func (s *Store) RevokeToken(ctx context.Context, token, hint, clientID string) (found bool, err error) {
	fam, h, ok, err := s.tokenKey(ctx, token, accessPrefix)
	if err != nil {
		return false, err
	}
	if ok {
		rec, err := s.get(ctx, "revoke", s.keyAT(fam, h))
		if errors.Is(err, ErrNotFound) || err == nil && rec.ClientID != clientID {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		n, err := s.rdb.Del(ctx, s.keyAT(fam, h)).Result()
		if err != nil {
			return false, s.unavailable("revoke", err)
		}
		if n == 0 {
			return false, nil
		}
		return true, s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashHex(token)}, Reason: "revoke"})
	}
	if fam, h, ok, err = s.tokenKey(ctx, token, refreshPrefix); err != nil {
		return false, err
	}
	if ok {
		rec, err := s.get(ctx, "revoke", s.keyRT(fam, h))
		if errors.Is(err, ErrNotFound) || err == nil && rec.ClientID != clientID {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		hs, err := revokeFamilyScript.Run(ctx, s.rdb, []string{s.keyFam(fam), s.keyTomb(fam)}, s.keyAT(fam, ""), s.keyRT(fam, "")).StringSlice()
		if err != nil {
			return false, s.unavailable("revoke", err)
		}
		if len(hs) == 0 {
			return false, nil
		}
		return true, s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: hexAll(hs), Reason: "revoke"})
	}
	return false, nil
}

// RevokeUser revokes every family of userID except exceptFamily (may be
// ""), then publishes a KindSubject event (Subject is the decimal user id,
// as in introspection's sub). reason goes into the event. Errors:
// ErrUnavailable; families revoked before a failure stay revoked.
func (s *Store) RevokeUser(ctx context.Context, userID int64, exceptFamily, reason string) error {
	hs, err := s.revokeIndex(ctx, s.keyUser(userID), allBut(exceptFamily))
	if err != nil {
		return fmt.Errorf("tokens: revoke user: %w", err)
	}
	return s.publishAll(ctx, revocation.Event{Kind: revocation.KindSubject, Subject: strconv.FormatInt(userID, 10), Reason: reason}, hs)
}

// RevokeClient revokes every family of clientID, then publishes a
// KindClient event. Errors: ErrUnavailable.
func (s *Store) RevokeClient(ctx context.Context, clientID, reason string) error {
	hs, err := s.revokeIndex(ctx, s.keyClient(clientID), allBut(""))
	if err != nil {
		return fmt.Errorf("tokens: revoke client: %w", err)
	}
	return s.publishAll(ctx, revocation.Event{Kind: revocation.KindClient, ClientID: clientID, Reason: reason}, hs)
}

// publishAll publishes e naming every hash of hs: in e itself when they
// fit in one event, else in KindTokens events of at most maxEventHashes
// (then e, unless it is itself a KindTokens event; a cluster's nodes may
// deliver them in another order). A resource server then
// refuses each revoked token by its hash, even when the auth server it asks
// next has not heard of e yet.
func (s *Store) publishAll(ctx context.Context, e revocation.Event, hs []string) error {
	if len(hs) <= maxEventHashes {
		e.TokenHashes = hs
		return s.publish(ctx, e)
	}
	for i := 0; i < len(hs); i += maxEventHashes {
		batch := revocation.Event{Kind: revocation.KindTokens, TokenHashes: hs[i:min(i+maxEventHashes, len(hs))], Reason: e.Reason}
		if err := s.publish(ctx, batch); err != nil {
			return err
		}
	}
	if e.Kind == revocation.KindTokens {
		return nil
	}
	return s.publish(ctx, e)
}

// Ping checks that Redis answers. Errors: ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.unavailable("ping", err)
	}
	return nil
}

// Dial creates the client a Store takes, from opt with the store's settings
// added: no server-assisted client cache (the Store keeps its own), and
// RetryOnce. For a single server not up yet it still returns a client,
// which connects when Redis is back, together with the dial error.
func Dial(opt rueidis.ClientOption) (rueidis.Client, error) {
	opt.DisableCache, opt.DisableRetry, opt.RetryDelay = true, false, RetryOnce
	return rueidis.NewClient(opt)
}

// RetryOnce is the store's rueidis retry policy: a read-only command that
// met a network error (a connection Redis closed) is tried once more, at
// once, on a new connection; nothing is retried while Redis stays down, so
// that callers get ErrUnavailable (503) at once instead of waiting.
func RetryOnce(attempts int, _ rueidis.Completed, _ error) time.Duration {
	if attempts <= 1 {
		return 0
	}
	return -1
}
