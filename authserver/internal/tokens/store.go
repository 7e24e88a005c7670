package tokens

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
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
	// Checked is when the user and the client were checked: Issue
	// refuses a grant whose user or client was revoked after it.
	Checked Checked
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
	cache    *accessCache // nil unless CacheAccessTokens
	clients  ClientCache  // nil unless WatchClients
	imported bool         // AcceptImported found imports
	origin   string       // this Store's revocation.Event Origin
	known    knownBuckets // index buckets this process registered
}

// New returns a Store. prefix is REDIS_PREFIX and goes on every key and on
// the revocation channel; it must not contain '{' or '}' (Redis Cluster hash
// tags). Both lifetimes must be positive.
func New(rc rueidis.Client, prefix string, life Lifetimes) *Store {
	var id [8]byte
	_, _ = crand.Read(id[:]) // never fails (crypto/rand)
	return &Store{rc: rc, rdb: redis.NewAdapter(rc), prefix: prefix, life: life, now: time.Now, grace: defaultReuseGrace, origin: hex.EncodeToString(id[:])}
}

// SetReuseGrace sets how long after a rotation the rotated-away refresh
// token is taken, when presented again, for a concurrent duplicate (a
// retry, two tabs: ErrNotFound, the family lives) rather than a replay
// (ErrReplayed, the family is revoked). The trade-off: a thief who uses a
// stolen refresh token first keeps the family when the real client comes
// back within the grace. Zero makes every second use a replay. Call it
// before the Store is shared.
func (s *Store) SetReuseGrace(d time.Duration) { s.grace = max(d, 0) }

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
// refresh token, unless g's user or client was revoked after g.Checked
// (ErrRevoked, nothing issued). It takes one round trip; the user and
// client indexes are written in it before the tokens. Errors: ErrRevoked,
// ErrUnavailable.
func (s *Store) Issue(ctx context.Context, g Grant, withRefresh bool) (Issued, error) {
	if s.life.Access <= 0 || withRefresh && s.life.Refresh <= 0 {
		return Issued{}, errors.New("tokens: issue: lifetimes must be positive")
	}
	fam, err := newFamily(shardOf(g))
	if err != nil {
		return Issued{}, err
	}
	return s.issueIn(ctx, g, withRefresh, fam)
}

// issueScript writes a new family, all or none, unless the grant's user or
// client was revoked since it was checked (reply 0). An access token alone
// is one key; with a refresh token, the family hash is written too (see
// the key layout in token.go). KEYS and ARGV: issueArgs.
var issueScript = newScript(epochCheck + `
if epoch(ARGV[1], 'c', ARGV[2]) > tonumber(ARGV[4]) or ARGV[3] ~= '0' and epoch(ARGV[1], 'u', ARGV[3]) > tonumber(ARGV[5]) then return 0 end
redis.call('SET', KEYS[1], ARGV[6], 'PX', ARGV[7])
if #KEYS == 3 then
  redis.call('SET', KEYS[2], ARGV[8], 'PX', ARGV[9])
  redis.call('HSET', KEYS[3], 'c', ARGV[2], 'u', ARGV[3], 'e', ARGV[10], 'a', ARGV[11], 'h', ARGV[12], 'r', ARGV[13], 'x', ARGV[14], 'g', ARGV[15], 's', ARGV[16])
  redis.call('PEXPIRE', KEYS[3], ARGV[17])
end
return 1
`)

// issueArgs are issueScript's KEYS and ARGV.
type issueArgs struct {
	epochs  string // epochPrefix of the family's shard
	grant   Grant
	access  string // access key
	atVal   string
	atTTL   time.Duration
	refresh bool
	rt, fam string // refresh key and family hash, when refresh
	rtVal   string
	rtTTL   time.Duration
	famTTL  time.Duration
	atH     string // the access hash, key form and hex
	atHex   string
	rtH     string
	horizon time.Time // of the family's index entries
	body    string    // the grant body (appendGrantBody)
	gen     int64     // recorded in the family
}

func (a issueArgs) build() ([]string, []any) {
	keys := []string{a.access}
	argv := []any{a.epochs, a.grant.ClientID, a.grant.UserID, a.grant.Checked.Client, a.grant.Checked.User, a.atVal, a.atTTL.Milliseconds()}
	if a.refresh {
		keys = append(keys, a.rt, a.fam)
		argv = append(argv, a.rtVal, a.rtTTL.Milliseconds(), a.gen, a.atH, a.atHex, a.rtH, a.horizon.UnixMilli(), a.body, a.grant.Scope, a.famTTL.Milliseconds())
	}
	return keys, argv
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
	gen := g.Checked.gen()
	a := issueArgs{epochs: s.epochPrefix(fam[0]), grant: g, access: s.keyAT(fam, atH), atTTL: s.life.Access,
		atVal: encodeRecord(record{Grant: g, Gen: gen, IssuedAt: now, ExpiresAt: out.AccessExpiresAt})}
	member, famExp := fam+atH, out.AccessExpiresAt
	if withRefresh {
		rt, err := newToken(refreshPrefix, fam)
		if err != nil {
			return Issued{}, err
		}
		out.RefreshToken, out.RefreshExpiresAt = rt, now.Add(s.life.Refresh)
		rtH := keyHash(rt)
		// The family's index entries are set to outlive it twice over,
		// so that rotations within the next famTTL need not touch the
		// indexes; the horizon is kept in the family hash ('x').
		member, famExp = fam, s.indexHorizon()
		a.refresh, a.rt, a.fam, a.rtTTL, a.famTTL = true, s.keyRT(fam, rtH), s.keyFam(fam), s.life.Refresh, s.famTTL()
		a.rtVal = encodeRecord(record{Grant: g, Gen: gen, IssuedAt: now, ExpiresAt: out.RefreshExpiresAt})
		a.atH, a.atHex, a.rtH, a.horizon, a.body, a.gen = atH, atHex, rtH, famExp, string(appendGrantBody(nil, g)), gen
	}
	keys, argv := a.build()
	var registered []string
	var issued *redis.Cmd
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		registered = s.queueIndex(ctx, p, g, member, famExp)
		issued = issueScript.EvalSha(ctx, p, keys, argv...)
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return Issued{}, s.unavailable("issue", err)
	}
	s.known.add(registered, now)
	if n, _ := issued.Int64(); n != 1 {
		return Issued{}, ErrRevoked
	}
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

// get reads one record in one round trip; ErrNotFound when the key is
// absent or expired, or its user or client was revoked after it was issued.
func (s *Store) get(ctx context.Context, op, fam, key string) (record, error) {
	v, err := s.lookup(ctx, lookupArgs{key: key, epochs: s.epochPrefix(fam[0])})
	if rueidis.IsRedisNil(err) {
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
// when it is in the access-token cache (a malformed token costs none).
// Errors: ErrNotFound, ErrUnavailable.
func (s *Store) LookupAccess(ctx context.Context, token string) (Access, error) {
	fam, h, err := s.locate(ctx, token, accessPrefix)
	if err != nil {
		return Access{}, err
	}
	rec, hit := s.cache.get(h)
	if hit && !rec.ExpiresAt.After(s.now()) {
		return Access{}, ErrNotFound
	}
	if !hit {
		gen, cacheable := s.cache.begin()
		if rec, err = s.get(ctx, "lookup access", fam, s.keyAT(fam, h)); err != nil {
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
	fam, h, err := s.locate(ctx, token, refreshPrefix)
	if err != nil {
		return Refresh{}, err
	}
	rec, err := s.get(ctx, "lookup refresh", fam, s.keyRT(fam, h))
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
// than the reuse grace ago) gives ErrReplayed and revokes the family.
// A refresh token of another client gives ErrNotFound and changes nothing;
// a family whose user or client was revoked after it was issued
// (epoch.go) gives ErrNotFound and is deleted.
// One round trip; a second, about once per family lifetime, when the family
// reaches the horizon of its index entries and they must be raised.
// Errors: ErrNotFound, ErrReplayed, ErrScope, ErrUnavailable.
func (s *Store) Rotate(ctx context.Context, refreshToken, clientID, newScope string) (Issued, error) {
	fam, h, err := s.locate(ctx, refreshToken, refreshPrefix)
	if err != nil {
		return Issued{}, err
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
	// The event names the rotated-away access token, which only the script
	// knows: it adds it to the hashes.
	ev, err := revocation.Encode(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{hexHash(h)},
		Reason: revocation.ReasonRotation, At: iat.Unix(), Origin: s.origin})
	if err != nil {
		return Issued{}, fmt.Errorf("tokens: rotate: %w", err)
	}
	a := rotateArgs{
		fam: s.keyFam(fam), presented: s.keyRT(fam, h), tomb: s.keyTomb(fam), newAT: s.keyAT(fam, atH), newRT: s.keyRT(fam, keyHash(rt)),
		presentedH: h, clientID: clientID, now: now, grace: s.grace, newATH: atH, newATHex: atHex, newRTH: keyHash(rt),
		atHead: string(appendTimes(nil, iat, out.AccessExpiresAt)), rtHead: string(appendTimes(nil, iat, out.RefreshExpiresAt)),
		scope: newScope, atTTL: s.life.Access, rtTTL: s.life.Refresh, famTTL: s.famTTL(),
		atPrefix: s.keyAT(fam, ""), rtPrefix: s.keyRT(fam, ""), channel: revocation.Channel(s.prefix),
		event: string(ev), epochs: s.epochPrefix(fam[0]),
	}
	// Trimming the tombstones costs a command; once in trimEvery rotations
	// keeps them near maxTombstones.
	if rand.N(trimEvery) == 0 {
		a.trim = maxTombstones
	}
	res, err := s.runRotate(ctx, a)
	if err != nil {
		return Issued{}, err
	}
	switch res[0] {
	case "ok":
		if len(res) != 5 {
			return Issued{}, fmt.Errorf("tokens: rotate: bad script reply")
		}
		out.Scope = res[1]
		s.cache.apply(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{res[2], hexHash(h)}})
		s.revoked(revocation.ReasonRotation) // the script published it
		if res[3] == "1" {
			s.extend(ctx, fam, atH, keyHash(rt), res[4], out)
		}
		return out, nil
	case "scope":
		return Issued{}, ErrScope
	case "replayed":
		if err := s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: hexAll(res[1:]), Reason: revocation.ReasonReplay}); err != nil {
			return Issued{}, fmt.Errorf("%w (%w)", ErrReplayed, err)
		}
		return Issued{}, ErrReplayed
	default: // "notfound", "race", "revoked"
		return Issued{}, ErrNotFound
	}
}

// runRotate runs rotateScript; its reply has at least one element.
func (s *Store) runRotate(ctx context.Context, a rotateArgs) ([]string, error) {
	keys, argv := a.build()
	var rot *redis.Cmd
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		rot = rotateScript.EvalSha(ctx, p, keys, argv...)
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
	rec, err := decodeRecord(string(appendTimes(nil, out.AccessExpiresAt, out.AccessExpiresAt)) + "0|" + body)
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

func (s *Store) revoked(reason revocation.Reason) {
	if s.onRevoke != nil {
		s.onRevoke(string(reason))
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
	if fam, h, ok := parseToken(token, accessPrefix); ok {
		return s.revokeAccess(ctx, fam, h, clientID)
	}
	if fam, h, ok := parseToken(token, refreshPrefix); ok {
		return s.revokeRefresh(ctx, fam, h, clientID)
	}
	// An imported token's text does not say what it is.
	fam, h, err := s.locate(ctx, token, accessPrefix)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if found, err := s.revokeAccess(ctx, fam, h, clientID); found || err != nil {
		return found, err
	}
	return s.revokeRefresh(ctx, fam, h, clientID)
}

// revokeAccess deletes the access token of family fam with hash h if it
// is clientID's, and publishes its revocation.
func (s *Store) revokeAccess(ctx context.Context, fam, h, clientID string) (bool, error) {
	rec, err := s.get(ctx, "revoke", fam, s.keyAT(fam, h))
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
	return true, s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{hexHash(h)}, Reason: revocation.ReasonRevoke})
}

// revokeRefresh revokes the family fam if its refresh token with hash h is
// clientID's, and publishes the revocation of its tokens.
func (s *Store) revokeRefresh(ctx context.Context, fam, h, clientID string) (bool, error) {
	rec, err := s.get(ctx, "revoke", fam, s.keyRT(fam, h))
	if errors.Is(err, ErrNotFound) || err == nil && rec.ClientID != clientID {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	hs, err := s.deleteFamily(ctx, fam)
	if err != nil || len(hs) == 0 {
		return false, err
	}
	return true, s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: hexAll(hs), Reason: revocation.ReasonRevoke})
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
