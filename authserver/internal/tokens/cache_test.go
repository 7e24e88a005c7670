package tokens

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// dropBehindCache deletes an access token's key without an event, as
// nothing in Portcullis does: only a cache can still answer for it.
func dropBehindCache(t *testing.T, e *env, at string) {
	t.Helper()
	fam, h, ok := parseToken(at, accessPrefix)
	if !ok {
		t.Fatal("not an access token")
	}
	if err := e.rdb.Del(context.Background(), e.s.keyAT(fam, h)).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestCacheAnswersRepeatLookups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		iss := mustIssue(t, e, userGrant(7), false)
		wantLive(t, e, iss.AccessToken, true)
		dropBehindCache(t, e, iss.AccessToken)
		// The second lookup did not read Redis: the key is gone.
		wantLive(t, e, iss.AccessToken, true)
		// Never past the token's own expiry.
		e.advance(testLife.Access + time.Second)
		wantLive(t, e, iss.AccessToken, false)
	})
}

func TestCacheOffWithoutSubscription(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	t.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
	s := New(tokenClient(t, rdb), prefix, testLife)
	s.CacheAccessTokens(1000, time.Minute) // but no WatchRevocations
	e := &env{s: s, rdb: rdb, prefix: prefix}
	s.now = e.now
	iss := mustIssue(t, e, userGrant(7), false)
	wantLive(t, e, iss.AccessToken, true)
	dropBehindCache(t, e, iss.AccessToken)
	wantLive(t, e, iss.AccessToken, false)
}

// eventually polls f for up to two seconds: another process's revocation
// reaches this one through Redis pub/sub.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	servicetest.Eventually(t, 2*time.Second, what, f)
}

// TestCacheHearsOtherProcesses runs two stores on one prefix, as two auth
// server replicas: what one revokes leaves the other's cache, for every
// kind of revocation event.
func TestCacheHearsOtherProcesses(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	t.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
	a, b := newEnv(t, rdb, prefix, nil), newEnv(t, rdb, prefix, nil)
	ctx := context.Background()
	gone := func(e *env, at string) func() bool {
		return func() bool {
			_, err := e.s.LookupAccess(ctx, at)
			return errors.Is(err, grant.ErrNotFound)
		}
	}
	cases := []struct {
		name   string
		grant  grant.Grant
		revoke func(grant.Issued) error
	}{
		{"token", userGrant(11), func(iss grant.Issued) error {
			_, err := a.s.RevokeToken(ctx, iss.AccessToken, "", "rs-id")
			return err
		}},
		{"family", userGrant(12), func(iss grant.Issued) error {
			_, err := a.s.RevokeToken(ctx, iss.RefreshToken, "", "rs-id")
			return err
		}},
		{"user", userGrant(13), func(grant.Issued) error { return a.s.RevokeUser(ctx, 13, "", "password_change") }},
		{"client", grant.Grant{ClientID: "replica-client", Scope: "read"}, func(grant.Issued) error {
			return a.s.RevokeClient(ctx, "replica-client", "client_deleted")
		}},
		{"rotation", userGrant(14), func(iss grant.Issued) error {
			_, err := a.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			iss := mustIssue(t, a, tc.grant, tc.grant.UserID != 0)
			// Both replicas cache it.
			wantLive(t, a, iss.AccessToken, true)
			wantLive(t, b, iss.AccessToken, true)
			if err := tc.revoke(iss); err != nil {
				t.Fatal(err)
			}
			// The revoking replica at once, the other on the event.
			wantLive(t, a, iss.AccessToken, false)
			eventually(t, "replica b evicts", gone(b, iss.AccessToken))
		})
	}
}

// TestCacheSkipsReadsOvertakenByEviction: a record read before an eviction
// is not cached after it.
func TestCacheSkipsReadsOvertakenByEviction(t *testing.T) {
	c := newAccessCache(10, time.Minute)
	c.setLive(true)
	r := record{Grant: userGrant(1), ExpiresAt: time.Now().Add(time.Hour)}
	gen, ok := c.begin()
	if !ok {
		t.Fatal("a live cache refused to cache")
	}
	c.apply(revocation.Event{Kind: revocation.KindSubject, Subject: "99"}) // any eviction
	c.add(gen, "h", r)
	if _, hit := c.get("h"); hit {
		t.Fatal("a read overtaken by an eviction was cached")
	}
	gen, _ = c.begin()
	c.add(gen, "h", r)
	if _, hit := c.get("h"); !hit {
		t.Fatal("an undisturbed read was not cached")
	}
	c.setLive(false)
	if _, hit := c.get("h"); hit {
		t.Fatal("an entry outlived the subscription")
	}
	if _, ok := c.begin(); ok {
		t.Fatal("a cache without subscription accepted a read")
	}
}

func TestCacheApplyKinds(t *testing.T) {
	at1, at2 := "pcat_x1", "pcat_x2"
	h1, h2 := keyHash(at1), keyHash(at2)
	fill := func() *accessCache {
		c := newAccessCache(10, time.Minute)
		c.setLive(true)
		gen, _ := c.begin()
		c.add(gen, h1, record{Grant: grant.Grant{ClientID: "c1", UserID: 1}})
		c.add(gen, h2, record{Grant: grant.Grant{ClientID: "c2", UserID: 2}})
		return c
	}
	for _, tc := range []struct {
		name         string
		e            revocation.Event
		keep1, keep2 bool
	}{
		{"tokens", revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashString(at1)}}, false, true},
		{"subject", revocation.Event{Kind: revocation.KindSubject, Subject: "2"}, true, false},
		{"client", revocation.Event{Kind: revocation.KindClient, ClientID: "c1"}, false, true},
		{"unknown kind purges", revocation.Event{Kind: "later"}, false, false},
		{"bad subject purges", revocation.Event{Kind: revocation.KindSubject, Subject: "x"}, false, false},
		{"bad hash purges", revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{"zz"}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fill()
			c.apply(tc.e)
			if _, ok := c.get(h1); ok != tc.keep1 {
				t.Errorf("token 1 kept = %v, want %v", ok, tc.keep1)
			}
			if _, ok := c.get(h2); ok != tc.keep2 {
				t.Errorf("token 2 kept = %v, want %v", ok, tc.keep2)
			}
		})
	}
}

// TestCacheOffWhileRedisIsDown stops a private Redis under a watching
// store: the cache empties and stops answering, and comes back (empty) with
// the subscription.
func TestCacheOffWhileRedisIsDown(t *testing.T) {
	port, cmd, rdb := privateRedis(t)
	e := newEnv(t, rdb, testenv.Prefix(), nil)
	iss := mustIssue(t, e, userGrant(3), false)
	wantLive(t, e, iss.AccessToken, true) // cached now

	stopRedis(cmd)
	eventually(t, "cache off after the drop", func() bool { return !e.s.cache.live.Load() })
	if _, err := e.s.LookupAccess(context.Background(), iss.AccessToken); !errors.Is(err, grant.ErrUnavailable) {
		t.Fatalf("lookup with Redis down = %v, want grant.ErrUnavailable (not a cached answer)", err)
	}

	startRedis(t, port) // empty: the token is gone with the old process
	servicetest.Eventually(t, 15*time.Second, "the subscription comes back", e.s.cache.live.Load)
	// The subscription's connection can be back before the commands' one:
	// a lookup may still find Redis unavailable for a moment, but it must
	// never answer from what was cached before the drop.
	servicetest.Eventually(t, 15*time.Second, "a lookup that reaches the new Redis", func() bool {
		_, err := e.s.LookupAccess(context.Background(), iss.AccessToken)
		if err == nil {
			t.Fatal("the token was answered as live after Redis came back empty")
		}
		return errors.Is(err, grant.ErrNotFound)
	})
}

// TestAccessCacheTTL: an entry is served until its TTL, and never after.
func TestAccessCacheTTL(t *testing.T) {
	c := newAccessCache(10, 50*time.Millisecond)
	c.live.Store(true)
	gen, _ := c.begin()
	c.add(gen, "h", record{Grant: grant.Grant{ClientID: "c"}})
	if r, ok := c.get("h"); !ok || r.ClientID != "c" {
		t.Fatalf("fresh entry: %+v %v", r, ok)
	}
	servicetest.Eventually(t, 5*time.Second, "the entry's TTL passes", func() bool {
		_, ok := c.get("h")
		return !ok
	})
}
