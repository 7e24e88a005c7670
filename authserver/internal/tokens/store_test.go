package tokens

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

var testLife = Lifetimes{Access: time.Hour, Refresh: 24 * time.Hour}

// env is one backend under test.
type env struct {
	s      *Store
	rdb    redis.UniversalClient
	prefix string
	mr     *miniredis.Miniredis // nil on real Redis
	mu     sync.Mutex
	offset time.Duration
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Now().Add(e.offset)
}

// advance moves the store's clock, and on miniredis its TTLs too.
func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.offset += d
	e.mu.Unlock()
	if e.mr != nil {
		e.mr.FastForward(d)
		e.mr.SetTime(e.now()) // for PEXPIREAT's absolute times
	}
}

// forEachBackend runs f against miniredis and, when TEST_REDIS_URL is set,
// real Redis (skipped loudly otherwise, failed under CI=true).
func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		f(t, newEnv(t, rdb, testenv.Prefix(), mr))
	})
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := testenv.Redis(t)
		t.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
		f(t, newEnv(t, rdb, prefix, nil))
	})
	// Skipped loudly without TEST_REDIS_CLUSTER_ADDRS (`make test-cluster`
	// and .ci/run set it); a failure under CI=true.
	t.Run("cluster", func(t *testing.T) {
		rdb, prefix := testenv.RedisCluster(t)
		t.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
		f(t, newEnv(t, rdb, prefix, nil))
	})
}

// newEnv is a watching Store on rdb's Redis, on the env's clock.
func newEnv(t *testing.T, rdb redis.UniversalClient, prefix string, mr *miniredis.Miniredis) *env {
	e := &env{rdb: rdb, prefix: prefix, mr: mr}
	e.s = New(tokenClient(t, rdb), prefix, testLife)
	e.s.now = e.now
	watch(t, e.s)
	return e
}

// watch turns on the access-token cache, as serve does, so that every
// contract test also holds with it, and waits until it is in use.
func watch(t testing.TB, s *Store) {
	t.Helper()
	s.CacheAccessTokens(1000, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.WatchRevocations(ctx, slog.New(slog.DiscardHandler)); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	servicetest.Eventually(t, 5*time.Second, "the revocation subscription starts", s.cache.live.Load)
}

func (e *env) keys(t *testing.T) []string {
	t.Helper()
	keys, err := testenv.Keys(context.Background(), e.rdb, e.prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// subscribe returns a function that waits for the next revocation event.
func (e *env) subscribe(t *testing.T) func() revocation.Event {
	t.Helper()
	// The events of rotations made so far go out before the subscription,
	// not in the middle of what the test watches (rotations.go).
	e.s.FlushRotations()
	ctx := context.Background()
	ps := e.rdb.Subscribe(ctx, revocation.Channel(e.prefix))
	t.Cleanup(func() { _ = ps.Close() })
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ch := ps.Channel()
	return func() revocation.Event {
		t.Helper()
		select {
		case m := <-ch:
			ev, err := revocation.Decode([]byte(m.Payload))
			if err != nil {
				t.Fatalf("event %q: %v", m.Payload, err)
			}
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no revocation event within 5s")
			return revocation.Event{}
		}
	}
}

func userGrant(uid int64) grant.Grant {
	return grant.Grant{ClientID: "rs-id", UserID: uid, Username: "user1@email.com", Scope: "read write introspection"}
}

func mustIssue(t *testing.T, e *env, g grant.Grant, withRefresh bool) grant.Issued {
	t.Helper()
	iss, err := e.s.Issue(context.Background(), g, withRefresh)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func wantLive(t *testing.T, e *env, at string, live bool) {
	t.Helper()
	_, err := e.s.LookupAccess(context.Background(), at)
	if live && err != nil || !live && !errors.Is(err, grant.ErrNotFound) {
		t.Fatalf("LookupAccess live=%v: err = %v", live, err)
	}
}

func wantRefreshLive(t *testing.T, e *env, rt string, live bool) {
	t.Helper()
	_, err := e.s.LookupRefresh(context.Background(), rt)
	if live && err != nil || !live && !errors.Is(err, grant.ErrNotFound) {
		t.Fatalf("LookupRefresh live=%v: err = %v", live, err)
	}
}

func sameHashes(t *testing.T, got []string, tokens ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, tok := range tokens {
		want[revocation.HashString(tok)] = true
	}
	have := map[string]bool{}
	for _, h := range got {
		have[h] = true
	}
	for h := range want {
		if !have[h] {
			t.Fatalf("event hashes %v lack %s", got, h)
		}
	}
}

func TestIssueLookup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, tt := range []struct {
			name        string
			g           grant.Grant
			withRefresh bool
		}{
			{"password with refresh", userGrant(42), true},
			{"password without refresh", userGrant(42), false},
			{"client credentials", grant.Grant{ClientID: "cc-id", Scope: "read"}, false},
			{"odd client id", grant.Grant{ClientID: "a|b{c}3|x", UserID: 7, Username: "9:|@x", Scope: ""}, true}, // never ':' (clients.Validate)
		} {
			t.Run(tt.name, func(t *testing.T) {
				iss := mustIssue(t, e, tt.g, tt.withRefresh)
				if !strings.HasPrefix(iss.AccessToken, "pcat_") || len(iss.AccessToken) != tokenLen {
					t.Fatalf("access token shape: %d chars", len(iss.AccessToken))
				}
				if iss.Scope != tt.g.Scope || iss.Family == "" || !strings.Contains(iss.AccessToken, iss.Family) {
					t.Fatalf("issued = %+v", iss)
				}
				if d := time.Until(iss.AccessExpiresAt); d > testLife.Access || d < testLife.Access-2*time.Second {
					t.Fatalf("access expires in %v", d)
				}
				a, err := e.s.LookupAccess(ctx, iss.AccessToken)
				if err != nil {
					t.Fatal(err)
				}
				if a.Grant != tt.g || a.Family != iss.Family || !a.ExpiresAt.Equal(iss.AccessExpiresAt) || a.IssuedAt.After(time.Now()) {
					t.Fatalf("access = %+v, issued %+v", a, iss)
				}
				if _, err := e.s.LookupRefresh(ctx, iss.AccessToken); !errors.Is(err, grant.ErrNotFound) {
					t.Fatalf("access token as refresh: %v", err)
				}
				if !tt.withRefresh {
					if iss.RefreshToken != "" {
						t.Fatal("refresh token issued without asking")
					}
					return
				}
				if !strings.HasPrefix(iss.RefreshToken, "pcrt_") {
					t.Fatal("refresh token prefix")
				}
				r, err := e.s.LookupRefresh(ctx, iss.RefreshToken)
				if err != nil {
					t.Fatal(err)
				}
				if r.Grant != tt.g || r.Family != iss.Family || !r.ExpiresAt.Equal(iss.RefreshExpiresAt) {
					t.Fatalf("refresh = %+v", r)
				}
				if _, err := e.s.LookupAccess(ctx, iss.RefreshToken); !errors.Is(err, grant.ErrNotFound) {
					t.Fatalf("refresh token as access: %v", err)
				}
			})
		}
	})
}

// TestNoTokenAtRest checks that neither a token nor its secret part
// appears in any key or value, and that the access key is named by the
// token's SHA-256.
func TestNoTokenAtRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(1), true)
		rot, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
		if err != nil {
			t.Fatal(err)
		}
		secrets := []string{iss.AccessToken, iss.RefreshToken, rot.AccessToken, rot.RefreshToken}
		var dump strings.Builder
		for _, k := range e.keys(t) {
			dump.WriteString(k + "\n")
			switch e.rdb.Type(ctx, k).Val() {
			case "string":
				dump.WriteString(e.rdb.Get(ctx, k).Val())
			case "hash":
				for f, v := range e.rdb.HGetAll(ctx, k).Val() {
					dump.WriteString(f + "=" + v + "\n")
				}
			case "zset":
				dump.WriteString(strings.Join(e.rdb.ZRange(ctx, k, 0, -1).Val(), "\n"))
			}
		}
		for _, s := range secrets {
			if strings.Contains(dump.String(), s[5+famLen:]) {
				t.Fatal("a token secret is stored in Redis")
			}
		}
		if n := e.rdb.Exists(ctx, e.s.keyAT(rot.Family, keyHash(rot.AccessToken))).Val(); n != 1 {
			t.Fatal("access key is not named by the token hash")
		}
	})
}

func TestTTLOnEveryKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(5), true)
		mustIssue(t, e, grant.Grant{ClientID: "cc-id", Scope: "read"}, false)
		if _, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "read"); err != nil {
			t.Fatal(err)
		}
		keys := e.keys(t)
		// a+r+f+o of the family, a of cc; a registry and a bucket each of
		// u:5, c:rs-id and c:cc-id
		if len(keys) != 11 {
			t.Fatalf("keys = %v", keys)
		}
		for _, k := range keys {
			// Token and family keys live as long as the family at most;
			// index keys (u:, c:) up to the end of the bucket of the index
			// horizon, twice that.
			longest := e.s.famTTL()
			if strings.HasPrefix(k, e.prefix+"u:") || strings.HasPrefix(k, e.prefix+"c:") {
				longest = 2*e.s.famTTL() + bucketWidth
			}
			ttl := e.rdb.PTTL(ctx, k).Val()
			if ttl <= 0 || ttl > longest {
				t.Fatalf("key %s has TTL %v (longest allowed %v)", k, ttl, longest)
			}
		}
	})
}

func TestMalformedTokensSkipRedis(t *testing.T) {
	// A client to a port nothing listens on: any Redis call would fail
	// with ErrUnavailable.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	s := New(tokenClient(t, rdb), "x:", testLife)
	good := "pcat_" + strings.Repeat("A", famLen+secretLen)
	ctx := context.Background()
	for _, tt := range []struct {
		name, token string
		rotate      bool // also malformed as a refresh token
	}{
		{"empty", "", true},
		{"wrong prefix", "pcxx_" + good[5:], true},
		{"refresh prefix for access", "pcrt_" + good[5:], false},
		{"short", good[:len(good)-1], true},
		{"long", good + "A", true},
		{"hash tag injection", "pcat_AAAAAAAAAAAAAAA}" + good[5+famLen:], true},
		{"non base64", "pcat_" + strings.Repeat("A", famLen) + strings.Repeat("*", secretLen), true},
		// A foreign token asks whether anything was imported (once per
		// importsRecheck); Redis being down, the answer stays "no".
		{"dot token", "D5t8bU7F2MXphhAnXsEdBHyX7xdEEN", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.LookupAccess(ctx, tt.token); !errors.Is(err, grant.ErrNotFound) {
				t.Fatalf("LookupAccess: %v", err)
			}
			if _, err := s.LookupRefresh(ctx, strings.Replace(tt.token, "pcat_", "pcrt_", 1)+"!"); !errors.Is(err, grant.ErrNotFound) {
				t.Fatalf("LookupRefresh: %v", err)
			}
			if !tt.rotate {
				return
			}
			if _, err := s.Rotate(ctx, strings.Replace(tt.token, "pcat_", "pcrt_", 1), "c", ""); !errors.Is(err, grant.ErrNotFound) {
				t.Fatalf("Rotate: %v", err)
			}
		})
	}
	// The well-formed token does reach Redis.
	if _, err := s.LookupAccess(ctx, good); !errors.Is(err, grant.ErrUnavailable) {
		t.Fatalf("well-formed token: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		if e.mr == nil {
			t.Skip("SKIPPED on real Redis: expiry needs miniredis FastForward; TTLs are checked by TestTTLOnEveryKey")
		}
		iss := mustIssue(t, e, userGrant(3), true)
		e.advance(testLife.Access + time.Second)
		wantLive(t, e, iss.AccessToken, false)
		wantRefreshLive(t, e, iss.RefreshToken, true)
		e.advance(testLife.Refresh)
		wantRefreshLive(t, e, iss.RefreshToken, false)
		for _, k := range e.keys(t) {
			if !strings.HasPrefix(k, e.prefix+"u:") && !strings.HasPrefix(k, e.prefix+"c:") {
				t.Fatalf("token or family key %s left after every lifetime", k)
			}
		}
		// The indexes outlive their families by at most one more famTTL.
		e.advance(e.s.famTTL())
		if keys := e.keys(t); len(keys) != 0 {
			t.Fatalf("keys left after the index horizon: %v", keys)
		}
	})
}

// indexMembers reads every member of the index idx from Redis: the members
// of each bucket in its registry.
func indexMembers(t *testing.T, e *env, idx string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, n := range e.rdb.ZRange(ctx, idx, 0, -1).Val() {
		out = append(out, e.rdb.HKeys(ctx, bucketKey(idx, n)).Val()...)
	}
	return out
}

// alignToBucket moves the clock to just past the start of an index bucket
// for entries ending after life, so that the next minute of issues lands
// in one bucket.
func alignToBucket(e *env, life time.Duration) {
	w := bucketWidth.Milliseconds()
	end := e.now().Add(life).UnixMilli()
	e.advance(time.Duration(w-end%w+100) * time.Millisecond)
}

// TestIndexBucketsExpire: an index needs no pruning of its members: a
// bucket expires with the last entry it can hold, and the registry drops
// the buckets that ended when it is next written.
func TestIndexBucketsExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		if e.mr == nil {
			t.Skip("SKIPPED on real Redis: needs miniredis FastForward")
		}
		ctx := context.Background()
		idx := e.s.keyClient("cc-id")
		// A refresh family keeps the index alive past the access tokens.
		fam := mustIssue(t, e, grant.Grant{ClientID: "cc-id", UserID: 5, Username: "u@x", Scope: "read"}, true)
		alignToBucket(e, testLife.Access)
		for range 20 {
			mustIssue(t, e, grant.Grant{ClientID: "cc-id"}, false)
		}
		if n := len(indexMembers(t, e, idx)); n != 21 {
			t.Fatalf("client index holds %d members, want 21", n)
		}
		if registry := e.rdb.ZRange(ctx, idx, 0, -1).Val(); len(registry) != 2 {
			t.Fatalf("registry %v, want the family's bucket and the lone tokens' one", registry)
		}
		e.advance(testLife.Access + bucketWidth)
		if got := indexMembers(t, e, idx); len(got) != 1 || got[0] != fam.Family {
			t.Fatalf("client index after the lone tokens expired: %v, want only the family", got)
		}
		if n := e.rdb.ZCard(ctx, idx).Val(); n != 2 {
			t.Fatalf("registry holds %d buckets before it is written again, want 2", n)
		}
		last := mustIssue(t, e, grant.Grant{ClientID: "cc-id"}, false)
		if n := e.rdb.ZCard(ctx, idx).Val(); n != 2 {
			t.Fatalf("registry holds %d buckets after a write, want 2 (the family's and the new one)", n)
		}
		if got := indexMembers(t, e, idx); len(got) != 2 {
			t.Fatalf("client index %v, want the family and %s", got, last.Family)
		}
	})
}

// TestIndexMendsALostRegistry: a registry that lost a bucket with no error
// seen is written again once the process stops trusting what it knew, and
// revocation then reaches every member of that bucket.
func TestIndexMendsALostRegistry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		idx := e.s.keyClient("cc-id")
		alignToBucket(e, testLife.Access)
		a := mustIssue(t, e, grant.Grant{ClientID: "cc-id", Scope: "read"}, false)
		if err := e.rdb.Del(ctx, idx).Err(); err != nil {
			t.Fatal(err)
		}
		e.advance(knownBucketFor + time.Second)
		b := mustIssue(t, e, grant.Grant{ClientID: "cc-id", Scope: "read"}, false)
		if err := e.s.RevokeClient(ctx, "cc-id", "test"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, a.AccessToken, false)
		wantLive(t, e, b.AccessToken, false)
	})
}

// TestIndexKeysOfDifferentClientsNeverMeet: no client id can name its
// index after another client's bucket (a client id may hold any printable
// character but ':' and space).
func TestIndexKeysOfDifferentClientsNeverMeet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		alignToBucket(e, testLife.Access)
		n := strconv.FormatInt(e.now().Add(testLife.Access).UnixMilli()/bucketWidth.Milliseconds(), 10)
		for _, sep := range []string{"#", "-", "_", "{", "}", "."} {
			mustIssue(t, e, grant.Grant{ClientID: "victim" + sep + n, Scope: "read"}, false)
		}
		v := mustIssue(t, e, grant.Grant{ClientID: "victim", Scope: "read"}, false)
		if err := e.s.RevokeClient(ctx, "victim", "test"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, v.AccessToken, false)
	})
}

// TestRevokeOutrunsAWriteBehindIt: a token whose write lands after the
// client's revocation, issued under the generation before it (an issue
// that checked the client before), is dead though no walk found it: the
// epoch, not the index, is the guarantee.
func TestRevokeOutrunsAWriteBehindIt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustIssue(t, e, grant.Grant{ClientID: "cc-id", Scope: "read"}, false)
		_, aH, _ := parseToken(a.AccessToken, accessPrefix)
		rec := e.rdb.Get(ctx, e.s.keyAT(a.Family, aH)).Val()
		// An issue that has written its index entry but not its token.
		fam, err := newFamily(a.Family[0])
		if err != nil {
			t.Fatal(err)
		}
		late, err := newToken(accessPrefix, fam)
		if err != nil {
			t.Fatal(err)
		}
		bucket := bucketsOf(t, e, e.s.keyClient("cc-id"), accessMember(a.Family, aH))
		if len(bucket) != 1 {
			t.Fatalf("buckets %v", bucket)
		}
		if err := e.rdb.HSet(ctx, bucketKey(e.s.keyClient("cc-id"), strconv.FormatInt(bucket[0], 10)), accessMember(fam, keyHash(late)), "").Err(); err != nil {
			t.Fatal(err)
		}
		if err := e.s.RevokeClient(ctx, "cc-id", "test"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, a.AccessToken, false)
		// The issue's token lands after the revocation.
		if err := e.rdb.Set(ctx, e.s.keyAT(fam, keyHash(late)), rec, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, late, false)
	})
}

func TestRotate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ev := e.subscribe(t)
		iss := mustIssue(t, e, userGrant(9), true)

		if _, err := e.s.Rotate(ctx, iss.RefreshToken, "other-client", ""); !errors.Is(err, grant.ErrNotFound) {
			t.Fatalf("foreign client: %v", err)
		}
		wantLive(t, e, iss.AccessToken, true)
		wantRefreshLive(t, e, iss.RefreshToken, true)

		rot, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "read")
		if err != nil {
			t.Fatal(err)
		}
		if rot.Family != iss.Family || rot.Scope != "read" || rot.AccessToken == iss.AccessToken || rot.RefreshToken == iss.RefreshToken {
			t.Fatalf("rotated = %+v", rot)
		}
		wantLive(t, e, iss.AccessToken, false)
		wantRefreshLive(t, e, iss.RefreshToken, false)
		a, err := e.s.LookupAccess(ctx, rot.AccessToken)
		if err != nil || a.Scope != "read" || a.UserID != 9 || a.Family != iss.Family {
			t.Fatalf("new access = %+v, %v", a, err)
		}
		r, err := e.s.LookupRefresh(ctx, rot.RefreshToken)
		if err != nil || r.Scope != "read write introspection" {
			t.Fatalf("new refresh keeps the family scope: %+v, %v", r, err)
		}
		got := ev()
		if got.Kind != revocation.KindTokens || got.Reason != "rotation" {
			t.Fatalf("event = %+v", got)
		}
		sameHashes(t, got.TokenHashes, iss.AccessToken)

		// Rotating again with the new token works, the chain goes on, and
		// the event names the access token the first rotation issued.
		if _, err := e.s.Rotate(ctx, rot.RefreshToken, "rs-id", ""); err != nil {
			t.Fatal(err)
		}
		sameHashes(t, ev().TokenHashes, rot.AccessToken, rot.RefreshToken)
	})
}

// TestRotationEventEncoding: the event the rotation script publishes, with
// the rotated-away access token's hash put in first, is the event
// revocation.Encode makes.
func TestRotationEventEncoding(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		iss := mustIssue(t, e, userGrant(13), true)
		next := e.subscribe(t)
		if _, err := e.s.Rotate(context.Background(), iss.RefreshToken, "rs-id", ""); err != nil {
			t.Fatal(err)
		}
		got := next()
		want := revocation.Event{V: revocation.Version, Kind: revocation.KindTokens,
			TokenHashes: []string{revocation.HashString(iss.AccessToken), revocation.HashString(iss.RefreshToken)},
			Reason:      revocation.ReasonRotation, At: got.At, Origin: e.s.origin}
		if !reflect.DeepEqual(got, want) || got.At < e.now().Unix()-5 {
			t.Fatalf("event %+v, want %+v", got, want)
		}
	})
}

// TestFamilyHashHasOneHashForm: a family hash names its live tokens once,
// in the form of their keys and of the events, after an issue, a rotation
// and an import alike.
func TestFamilyHashHasOneHashForm(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(14), true)
		rot, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
		if err != nil {
			t.Fatal(err)
		}
		imp := ImportedTokens{Grant: userGrant(14), AccessToken: "dot-access-one-form", AccessExpiresAt: e.now().Add(time.Hour),
			RefreshToken: "dot-refresh-one-form"}
		if err := e.s.Import(ctx, imp); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, fam, at, rt string
		}{
			{"issued", iss.Family, iss.AccessToken, iss.RefreshToken}, // rotated: its new tokens
			{"imported", importedFamily(imp.Grant, keyHash(imp.AccessToken)), imp.AccessToken, imp.RefreshToken},
		} {
			if tt.name == "issued" {
				tt.at, tt.rt = rot.AccessToken, rot.RefreshToken
			}
			f, err := e.rdb.HGetAll(ctx, e.s.keyFam(tt.fam)).Result()
			if err != nil {
				t.Fatal(err)
			}
			fields := slices.Sorted(maps.Keys(f))
			if want := []string{"a", "c", "e", "g", "r", "s", "u", "x"}; !slices.Equal(fields, want) {
				t.Errorf("%s: family fields %v, want %v", tt.name, fields, want)
			}
			if f["a"] != revocation.HashString(tt.at) || f["r"] != revocation.HashString(tt.rt) {
				t.Errorf("%s: family names a=%s r=%s, not the tokens' revocation.HashString", tt.name, f["a"], f["r"])
			}
		}
	})
}

func TestRotateSingleWinner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(11), true)
		const n = 64
		var wins, notFound atomic.Int32
		var winner grant.Issued
		var wg sync.WaitGroup
		errs := make(chan error, n)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				out, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
				switch {
				case err == nil:
					wins.Add(1)
					winner = out
				case errors.Is(err, grant.ErrNotFound):
					notFound.Add(1)
				default:
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("unexpected error: %v", err)
		}
		if wins.Load() != 1 || notFound.Load() != n-1 {
			t.Fatalf("wins = %d, not found = %d", wins.Load(), notFound.Load())
		}
		// The losers did not revoke the family.
		wantLive(t, e, winner.AccessToken, true)
		wantRefreshLive(t, e, winner.RefreshToken, true)
	})
}

func TestReplayRevokesFamily(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(12), true)
		other := mustIssue(t, e, userGrant(12), true)
		rot, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
		if err != nil {
			t.Fatal(err)
		}
		ev := e.subscribe(t)

		// Within the grace period, a second use is a concurrent duplicate.
		if _, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", ""); !errors.Is(err, grant.ErrNotFound) {
			t.Fatalf("within grace: %v", err)
		}
		wantLive(t, e, rot.AccessToken, true)

		e.advance(e.s.grace + time.Second)
		// Another client replaying it changes nothing.
		if _, err := e.s.Rotate(ctx, iss.RefreshToken, "cc-id", ""); !errors.Is(err, grant.ErrNotFound) {
			t.Fatalf("foreign replay: %v", err)
		}
		wantLive(t, e, rot.AccessToken, true)

		if _, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", ""); !errors.Is(err, grant.ErrReplayed) {
			t.Fatalf("replay: %v", err)
		}
		wantLive(t, e, rot.AccessToken, false)
		wantRefreshLive(t, e, rot.RefreshToken, false)
		if _, err := e.s.Rotate(ctx, rot.RefreshToken, "rs-id", ""); !errors.Is(err, grant.ErrNotFound) {
			t.Fatalf("current token of a revoked family: %v", err)
		}
		got := ev()
		for got.Reason == revocation.ReasonRotation {
			// The first rotation's, published just before the
			// subscription: a cluster's bus may still bring it.
			got = ev()
		}
		if got.Kind != revocation.KindTokens || got.Reason != "replay" || len(got.TokenHashes) != 2 {
			t.Fatalf("event = %+v", got)
		}
		sameHashes(t, got.TokenHashes, rot.AccessToken, rot.RefreshToken)
		// Another family of the same user is untouched.
		wantLive(t, e, other.AccessToken, true)
		if keys := e.keys(t); len(keys) != 6 { // other: a r f; u:12; c:rs-id ... and nothing of the replayed family
			for _, k := range keys {
				if strings.Contains(k, "{"+iss.Family+"}") {
					t.Fatalf("key of the revoked family left: %s", k)
				}
			}
		}
	})
}

func TestRevokeToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ev := e.subscribe(t)
		for _, tt := range []struct {
			name      string
			refresh   bool // revoke the refresh token rather than the access token
			hint      string
			client    string
			wantFound bool
		}{
			{"own access", false, "access_token", "rs-id", true},
			{"own access, refresh hint", false, "refresh_token", "rs-id", true},
			{"own access, no hint", false, "", "rs-id", true},
			{"foreign access", false, "", "cc-id", false},
			{"own refresh", true, "refresh_token", "rs-id", true},
			{"own refresh, access hint", true, "access_token", "rs-id", true},
			{"foreign refresh", true, "", "cc-id", false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				iss := mustIssue(t, e, userGrant(20), true)
				tok := iss.AccessToken
				if tt.refresh {
					tok = iss.RefreshToken
				}
				found, err := e.s.RevokeToken(ctx, tok, tt.hint, tt.client)
				if err != nil || found != tt.wantFound {
					t.Fatalf("found = %v, err = %v", found, err)
				}
				switch {
				case !tt.wantFound:
					wantLive(t, e, iss.AccessToken, true)
					wantRefreshLive(t, e, iss.RefreshToken, true)
				case tt.refresh:
					wantLive(t, e, iss.AccessToken, false)
					wantRefreshLive(t, e, iss.RefreshToken, false)
					got := ev()
					sameHashes(t, got.TokenHashes, iss.AccessToken, iss.RefreshToken)
				default:
					wantLive(t, e, iss.AccessToken, false)
					got := ev()
					if got.Kind != revocation.KindTokens || len(got.TokenHashes) != 1 {
						t.Fatalf("event = %+v", got)
					}
					sameHashes(t, got.TokenHashes, iss.AccessToken)
				}
				// Revoking again finds nothing.
				if found, err := e.s.RevokeToken(ctx, tok, tt.hint, tt.client); err != nil || found {
					t.Fatalf("second revoke: found = %v, err = %v", found, err)
				}
			})
		}
		for _, tok := range []string{"", "nonsense", "pcat_" + strings.Repeat("A", famLen+secretLen)} {
			if found, err := e.s.RevokeToken(ctx, tok, "", "rs-id"); found || err != nil {
				t.Fatalf("unknown token %q: found = %v, err = %v", tok, found, err)
			}
		}
	})
}

func TestRevokeUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f1 := mustIssue(t, e, userGrant(7), true)
		f2 := mustIssue(t, e, userGrant(7), true) // the session that changes the password
		f3 := mustIssue(t, e, userGrant(7), false)
		f4 := mustIssue(t, e, grant.Grant{ClientID: "other", UserID: 7, Username: "u@x", Scope: "read"}, true)
		rot, err := e.s.Rotate(ctx, f4.RefreshToken, "other", "")
		if err != nil {
			t.Fatal(err)
		}
		bystander := mustIssue(t, e, userGrant(8), true)
		ev := e.subscribe(t)

		if err := e.s.RevokeUser(ctx, 7, f2.AccessToken, "password_change"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, f1.AccessToken, false)
		wantRefreshLive(t, e, f1.RefreshToken, false)
		wantLive(t, e, f3.AccessToken, false)
		wantLive(t, e, rot.AccessToken, false)
		wantRefreshLive(t, e, rot.RefreshToken, false)
		wantLive(t, e, f2.AccessToken, true)
		wantRefreshLive(t, e, f2.RefreshToken, true)
		wantLive(t, e, bystander.AccessToken, true)

		got := ev()
		if got.Kind != revocation.KindSubject || got.Subject != "7" || got.Reason != "password_change" {
			t.Fatalf("event = %+v", got)
		}
		sameHashes(t, got.TokenHashes, f1.AccessToken, f1.RefreshToken, f3.AccessToken, rot.AccessToken, rot.RefreshToken)
		if len(got.TokenHashes) != 5 {
			t.Fatalf("event hashes = %d, want 5", len(got.TokenHashes))
		}
		// The kept family still rotates, under the user's new epoch.
		kept, err := e.s.Rotate(ctx, f2.RefreshToken, "rs-id", "")
		if err != nil {
			t.Fatalf("rotating the kept family: %v", err)
		}
		wantLive(t, e, kept.AccessToken, true)
		if got := ev(); got.Reason != revocation.ReasonRotation {
			t.Fatalf("event = %+v, want the rotation's", got)
		}
		f2 = kept

		// Without an exception every family goes.
		if err := e.s.RevokeUser(ctx, 7, "", "deactivated"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, f2.AccessToken, false)
		if got := ev(); got.Subject != "7" {
			t.Fatalf("event = %+v", got)
		}
		if got := indexMembers(t, e, e.s.keyUser(7)); len(got) != 0 {
			t.Fatalf("user index members left behind: %v", got)
		}
	})
}

func TestRevokeClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var gone []grant.Issued
		for i := range 3 {
			gone = append(gone, mustIssue(t, e, userGrant(int64(30+i)), i%2 == 0))
		}
		gone = append(gone, mustIssue(t, e, grant.Grant{ClientID: "rs-id", Scope: "read"}, false))
		kept := mustIssue(t, e, grant.Grant{ClientID: "cc-id", Scope: "read"}, false)
		ev := e.subscribe(t)

		if err := e.s.RevokeClient(ctx, "rs-id", "client_deleted"); err != nil {
			t.Fatal(err)
		}
		for _, iss := range gone {
			wantLive(t, e, iss.AccessToken, false)
			if iss.RefreshToken != "" {
				wantRefreshLive(t, e, iss.RefreshToken, false)
			}
		}
		wantLive(t, e, kept.AccessToken, true)
		got := ev()
		if got.Kind != revocation.KindClient || got.ClientID != "rs-id" || got.Reason != "client_deleted" {
			t.Fatalf("event = %+v", got)
		}
		sameHashes(t, got.TokenHashes, gone[0].AccessToken, gone[1].AccessToken, gone[3].AccessToken)
	})
}

func TestRecordRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    record
	}{
		{"user", record{Grant: userGrant(42), IssuedAt: time.Unix(1700000000, 0), ExpiresAt: time.Unix(1700036000, 0)}},
		{"no user", record{Grant: grant.Grant{ClientID: "cc", Scope: "read"}, IssuedAt: time.Unix(1, 0), ExpiresAt: time.Unix(2, 0)}},
		{"separators inside", record{Grant: grant.Grant{ClientID: "3|a|b", UserID: -1, Username: "1:|", Scope: "x|y:z"}, IssuedAt: time.Unix(5, 0), ExpiresAt: time.Unix(6, 0)}},
		{"empty", record{IssuedAt: time.Unix(0, 0), ExpiresAt: time.Unix(0, 0)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRecord(encodeRecord(tt.r))
			if err != nil {
				t.Fatal(err)
			}
			if got.Grant != tt.r.Grant || !got.IssuedAt.Equal(tt.r.IssuedAt) || !got.ExpiresAt.Equal(tt.r.ExpiresAt) {
				t.Fatalf("got %+v want %+v", got, tt.r)
			}
		})
	}
	for _, bad := range []string{"", "1|2|3|cc:0:", "x|1|2|3|cc:0:", "1|1|2|3|cc:9:ab", "1|1|2|3|cc:-1:", "1|1|2|3|cc", "1|1|2"} {
		if _, err := decodeRecord(bad); err == nil {
			t.Fatalf("decodeRecord(%q) accepted", bad)
		}
	}
}

func TestRotateScope(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(7), true)
		if _, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "read admin"); !errors.Is(err, grant.ErrScope) {
			t.Fatalf("widening: err = %v, want grant.ErrScope", err)
		}
		wantRefreshLive(t, e, iss.RefreshToken, true) // refused, so nothing changed
		narrow, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "read")
		if err != nil || narrow.Scope != "read" {
			t.Fatalf("narrowing: %+v %v", narrow, err)
		}
		// The family keeps its original ceiling: the next rotation may
		// return to the full scope.
		back, err := e.s.Rotate(ctx, narrow.RefreshToken, "rs-id", "read write")
		if err != nil || back.Scope != "read write" {
			t.Fatalf("back to the granted scope: %+v %v", back, err)
		}
		rec, err := e.s.LookupAccess(ctx, back.AccessToken)
		if err != nil || rec.Scope != "read write" {
			t.Fatalf("access token scope = %q, %v", rec.Scope, err)
		}
	})
}

// TestRotateBumpsIndexOnlyWhenNeeded: rotations within a family's first
// lifetime leave the indexes alone, and once the family could outlive its
// index entries, the next rotation raises them, so RevokeUser still finds it.
func TestRotateBumpsIndexOnlyWhenNeeded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		if e.mr == nil {
			t.Skip("SKIPPED on real Redis: needs miniredis FastForward")
		}
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(11), true)
		idx := e.prefix + "u:11"
		first := bucketsOf(t, e, idx, iss.Family)
		if len(first) != 1 {
			t.Fatalf("a new family is in buckets %v, want one", first)
		}
		r1, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := bucketsOf(t, e, idx, iss.Family); !slices.Equal(got, first) {
			t.Fatalf("an early rotation moved the index entry %v -> %v", first, got)
		}
		// Keep the family alive past its first horizon by rotating often.
		rt := r1.RefreshToken
		step := e.s.famTTL() / 2
		for i := 0; i < 4; i++ {
			e.advance(step - time.Second)
			r, err := e.s.Rotate(ctx, rt, "rs-id", "")
			if err != nil {
				t.Fatalf("rotation %d: %v", i, err)
			}
			rt = r.RefreshToken
		}
		got := bucketsOf(t, e, idx, iss.Family)
		if len(got) == 0 || got[len(got)-1] <= first[0] {
			t.Fatalf("the index entry was never raised: buckets %v, first %v", got, first)
		}
		if len(got) != 1 {
			t.Fatalf("a raised family is in buckets %v, want only the new one (pruneLater knows one)", got)
		}
		if err := e.s.RevokeUser(ctx, 11, "", "test"); err != nil {
			t.Fatal(err)
		}
		wantRefreshLive(t, e, rt, false)
	})
}

// bucketsOf returns the numbers of the buckets of idx that hold member,
// in order.
func bucketsOf(t *testing.T, e *env, idx, member string) []int64 {
	t.Helper()
	ctx := context.Background()
	var out []int64
	for _, entry := range e.rdb.ZRange(ctx, idx, 0, -1).Val() {
		if len(entry) < famLen && e.rdb.HExists(ctx, bucketKey(idx, entry), member).Val() {
			n, err := strconv.ParseInt(entry, 10, 64)
			if err != nil {
				t.Fatalf("registry entry %q", entry)
			}
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// TestRotateRestoresALostIndexEntry: a family whose index entry is gone
// (an auth server stopped between a rotation and the raise that follows)
// gets it back on its next rotation, with its full lifetime, and is still
// revoked with its user.
func TestRotateRestoresALostIndexEntry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(12), true)
		idx := e.prefix + "u:12"
		soon := e.now().Add(5 * time.Second)
		if err := e.rdb.HSet(ctx, e.s.keyFam(iss.Family), "x", soon.UnixMilli()).Err(); err != nil {
			t.Fatal(err)
		}
		for _, n := range bucketsOf(t, e, idx, iss.Family) {
			if err := e.rdb.HDel(ctx, bucketKey(idx, strconv.FormatInt(n, 10)), iss.Family).Err(); err != nil {
				t.Fatal(err)
			}
		}
		r, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := bucketsOf(t, e, idx, iss.Family); len(got) != 1 || got[0] <= soon.UnixMilli()/bucketWidth.Milliseconds() {
			t.Fatalf("index entry after the rotation: buckets %v", got)
		}
		if ttl := e.rdb.PTTL(ctx, e.s.keyFam(iss.Family)).Val(); ttl < e.s.famTTL()-time.Minute {
			t.Fatalf("family TTL %v, want about %v", ttl, e.s.famTTL())
		}
		// The new tokens' keys were capped at the old horizon too, then
		// given their own lifetimes back.
		_, atH, _ := parseToken(r.AccessToken, accessPrefix)
		_, rtH, _ := parseToken(r.RefreshToken, refreshPrefix)
		if ttl := e.rdb.PTTL(ctx, e.s.keyAT(iss.Family, atH)).Val(); ttl < testLife.Access-time.Minute {
			t.Fatalf("new access token TTL %v, want about %v", ttl, testLife.Access)
		}
		if ttl := e.rdb.PTTL(ctx, e.s.keyRT(iss.Family, rtH)).Val(); ttl < testLife.Refresh-time.Minute {
			t.Fatalf("new refresh token TTL %v, want about %v", ttl, testLife.Refresh)
		}
		if err := e.s.RevokeUser(ctx, 12, "", "test"); err != nil {
			t.Fatal(err)
		}
		wantRefreshLive(t, e, r.RefreshToken, false)
		wantLive(t, e, r.AccessToken, false)
	})
}

// TestRotateNormalisesScope: the store parses an asked scope itself.
func TestRotateNormalisesScope(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		iss := mustIssue(t, e, userGrant(14), true)
		if _, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "read\twrite"); !errors.Is(err, grant.ErrScope) {
			t.Fatalf("a tab in the scope: %v, want grant.ErrScope", err)
		}
		r, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "read read")
		if err != nil || r.Scope != "read" {
			t.Fatalf("duplicate words: %q, %v", r.Scope, err)
		}
	})
}

func TestObserveRevocations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var mu sync.Mutex
		seen := map[string]int{}
		e.s.ObserveRevocations(func(reason string) { mu.Lock(); seen[reason]++; mu.Unlock() })
		iss := mustIssue(t, e, userGrant(21), true)
		next, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.RevokeToken(ctx, next.AccessToken, "", "rs-id"); err != nil {
			t.Fatal(err)
		}
		if err := e.s.RevokeUser(ctx, 21, "", "password_change"); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if seen["rotation"] != 1 || seen["revoke"] != 1 || seen["password_change"] != 1 {
			t.Fatalf("observed %v", seen)
		}
	})
}

// TestSubjectEventsNameEveryToken: a user revocation names every token it
// revoked, in batches when there are more than one event holds.
func TestSubjectEventsNameEveryToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		if e.mr == nil && testing.Short() {
			t.Skip("SKIPPED in -short: issues over a thousand tokens")
		}
		ctx := context.Background()
		n := maxEventHashes + 5
		want := map[string]bool{}
		for range n {
			iss := mustIssue(t, e, grant.Grant{ClientID: "rs-id", UserID: 15, Username: "u@x", Scope: "read"}, false)
			want[revocation.HashString(iss.AccessToken)] = true
		}
		next := e.subscribe(t)
		if err := e.s.RevokeUser(ctx, 15, "", "deactivated"); err != nil {
			t.Fatal(err)
		}
		// A cluster's nodes may deliver the events in another order than
		// they were published in.
		subject := false
		for len(want) > 0 || !subject {
			ev := next()
			if len(ev.TokenHashes) > maxEventHashes {
				t.Fatalf("an event with %d hashes", len(ev.TokenHashes))
			}
			for _, h := range ev.TokenHashes {
				delete(want, h)
			}
			if ev.Kind == revocation.KindSubject {
				if ev.Subject != "15" || subject {
					t.Fatalf("subject event %+v", ev)
				}
				subject = true
			}
		}
	})
}
