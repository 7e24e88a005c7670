package tokens

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/rueidis"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// TestEpochIsTheGuarantee bumps epochs without walking any index: the
// tokens issued before are dead to lookup, rotation and revocation, and an
// issue that checked its user or client before the bump is refused.
func TestEpochIsTheGuarantee(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		before, err := e.s.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checked := grant.Checked{User: before, Client: before}
		g := userGrant(21)
		g.Checked = checked
		fam := mustIssue(t, e, g, true)
		lone := mustIssue(t, e, g, false)
		other := userGrant(22)
		other.Checked = checked
		bystander := mustIssue(t, e, other, true)

		uid := strconv.FormatInt(21, 10)
		if err := e.s.bump(ctx, "u", uid, []byte{shardOf(g)}, bumpArgs{}); err != nil {
			t.Fatal(err)
		}
		e.s.cache.purge() // what RevokeUser's event does; this test asks Redis
		wantLive(t, e, fam.AccessToken, false)
		wantLive(t, e, lone.AccessToken, false)
		wantRefreshLive(t, e, fam.RefreshToken, false)
		wantLive(t, e, bystander.AccessToken, true)
		if _, err := e.s.Rotate(ctx, fam.RefreshToken, "rs-id", ""); !errors.Is(err, grant.ErrNotFound) {
			t.Fatalf("rotating a family issued before the bump: %v, want grant.ErrNotFound", err)
		}
		if n := e.rdb.Exists(ctx, e.s.keyFam(fam.Family)).Val(); n != 0 {
			t.Fatal("the refused rotation left the family behind")
		}
		if found, err := e.s.RevokeToken(ctx, lone.AccessToken, "", "rs-id"); found || err != nil {
			t.Fatalf("revoking a token dead by its epoch: found=%v err=%v", found, err)
		}
		// An issue that checked the user before the bump is refused...
		if _, err := e.s.Issue(ctx, g, true); !errors.Is(err, grant.ErrRevoked) {
			t.Fatalf("issue checked before the bump: %v, want grant.ErrRevoked", err)
		}
		// ...and one that checked after it stands.
		now, err := e.s.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		g.Checked = grant.Checked{User: now, Client: before}
		after := mustIssue(t, e, g, true)
		wantLive(t, e, after.AccessToken, true)
		if _, err := e.s.Rotate(ctx, after.RefreshToken, "rs-id", ""); err != nil {
			t.Fatalf("rotating a family issued after the bump: %v", err)
		}

		// A client's bump reaches its tokens in every shard, and an issue
		// for a client record read before it.
		if err := e.s.bump(ctx, "c", "rs-id", allShards, bumpArgs{}); err != nil {
			t.Fatal(err)
		}
		e.s.cache.purge()
		wantLive(t, e, bystander.AccessToken, false)
		if _, err := e.s.Issue(ctx, grant.Grant{ClientID: "rs-id", Scope: "read", Checked: grant.Checked{Client: now}}, false); !errors.Is(err, grant.ErrRevoked) {
			t.Fatalf("client_credentials issue for a client read before the bump: %v, want grant.ErrRevoked", err)
		}
		cc := mustIssue(t, e, grant.Grant{ClientID: "cc-id", Scope: "read", Checked: grant.Checked{Client: now}}, false)
		wantLive(t, e, cc.AccessToken, true)
	})
}

// TestRevokeUserKeepsTheCallersFamily: a password change keeps the token
// it was made with, and its family keeps rotating, though every other
// token of the user, and every issue checked before, is refused.
func TestRevokeUserKeepsTheCallersFamily(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		caller := mustIssue(t, e, userGrant(23), true)
		lone := mustIssue(t, e, userGrant(23), false)
		other := mustIssue(t, e, userGrant(23), true)
		if err := e.s.RevokeUser(ctx, 23, caller.AccessToken, "password_change"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, caller.AccessToken, true)
		wantRefreshLive(t, e, caller.RefreshToken, true)
		wantLive(t, e, other.AccessToken, false)
		next, err := e.s.Rotate(ctx, caller.RefreshToken, "rs-id", "")
		if err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, next.AccessToken, true)

		// A token alone (no refresh token) is kept the same way.
		if err := e.s.RevokeUser(ctx, 23, lone.AccessToken, "password_change"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, next.AccessToken, false)
		// lone was revoked by the first change already: keeping it now
		// brings nothing back.
		wantLive(t, e, lone.AccessToken, false)
		// Another user's token cannot be kept by naming it.
		stranger := mustIssue(t, e, userGrant(24), false)
		if err := e.s.RevokeUser(ctx, 23, stranger.AccessToken, "password_change"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, stranger.AccessToken, true)
	})
}

// TestLookupIsOneRoundTrip counts the commands a private Redis runs for a
// lookup with no cache: exactly one sent by the client (the lookup
// script), and inside it the four GETs of the record and of the client's,
// the user's and the user's grant to the client's epochs, and the HMGET of
// the family the record refers to. One command is one round trip.
func TestLookupIsOneRoundTrip(t *testing.T) {
	_, _, rdb := privateRedis(t)
	ctx := context.Background()
	s := New(tokenClient(t, rdb), testenv.Prefix(), testLife)
	iss, err := s.Issue(ctx, userGrant(25), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupAccess(ctx, iss.AccessToken); err != nil { // loads the scripts, if need be
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		lookup func() error
	}{
		{"access", func() error { _, err := s.LookupAccess(ctx, iss.AccessToken); return err }},
		{"refresh", func() error { _, err := s.LookupRefresh(ctx, iss.RefreshToken); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if err := tc.lookup(); err != nil {
				t.Fatal(err)
			}
			stats, err := rdb.Info(ctx, "commandstats").Result()
			if err != nil {
				t.Fatal(err)
			}
			calls := map[string]int{}
			for _, line := range strings.Split(stats, "\n") {
				name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
				if !ok {
					continue
				}
				n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				calls[strings.TrimPrefix(name, "cmdstat_")] = n
			}
			// The test's own commands, and a connection's handshake
			// should any client open one meanwhile.
			for c := range calls {
				if c == "config|resetstat" || c == "hello" || strings.HasPrefix(c, "client|") {
					delete(calls, c)
				}
			}
			if len(calls) != 3 || calls["evalsha_ro"] != 1 || calls["get"] != 4 || calls["hmget"] != 1 {
				t.Fatalf("a lookup ran %v, want one evalsha_ro running four GETs and an HMGET", calls)
			}
		})
	}
}

// clientEvents records what WatchRevocations tells a client cache.
type clientEvents struct {
	mu      sync.Mutex
	forgot  []string
	cleared int
}

func (c *clientEvents) Forget(id string) { c.mu.Lock(); c.forgot = append(c.forgot, id); c.mu.Unlock() }
func (c *clientEvents) ForgetAll()       { c.mu.Lock(); c.cleared++; c.mu.Unlock() }
func (c *clientEvents) has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.forgot {
		if f == id {
			return true
		}
	}
	return false
}

// TestClientEventsReachOtherReplicas: a client revoked on one replica is
// forgotten by another's client cache on the event; a (re)subscription
// empties it, since events may have been missed.
func TestClientEventsReachOtherReplicas(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	t.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
	a := New(tokenClient(t, rdb), prefix, testLife)
	b := New(tokenClient(t, rdb), prefix, testLife)
	seen := &clientEvents{}
	b.WatchClients(seen)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.WatchRevocations(ctx, slog.New(slog.DiscardHandler)); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "subscribed", func() bool { seen.mu.Lock(); defer seen.mu.Unlock(); return seen.cleared > 0 })
	if err := a.RevokeClient(context.Background(), "changed-client", "client_changed"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other replica forgets the client", func() bool { return seen.has("changed-client") })
	// A change that leaves the tokens reaches it too.
	if err := a.ClientUpdated(context.Background(), "renamed-client"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other replica forgets the renamed client", func() bool { return seen.has("renamed-client") })
}

// countingClient counts the round trips a Store makes: every Do and
// DoMulti is one.
type countingClient struct {
	rueidis.Client
	n atomic.Int64
}

func (c *countingClient) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	c.n.Add(1)
	return c.Client.Do(ctx, cmd)
}

func (c *countingClient) DoMulti(ctx context.Context, cmds ...rueidis.Completed) []rueidis.RedisResult {
	c.n.Add(1)
	return c.Client.DoMulti(ctx, cmds...)
}

// TestHotPathsAreOneRoundTrip: with the epochs checked in them, issue,
// lookup (no cache) and rotation each still take one round trip.
func TestHotPathsAreOneRoundTrip(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	t.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
	c := &countingClient{Client: tokenClient(t, rdb)}
	s := New(c, prefix, testLife)
	ctx := context.Background()
	// The first calls load the scripts and register the index buckets.
	warm, err := s.Issue(ctx, userGrant(26), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Issue(ctx, grant.Grant{ClientID: "cc-id", Scope: "read"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupAccess(ctx, warm.AccessToken); err != nil {
		t.Fatal(err)
	}
	var iss grant.Issued
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"issue with refresh", func() (err error) { iss, err = s.Issue(ctx, userGrant(26), true); return err }},
		{"issue alone", func() error { _, err := s.Issue(ctx, grant.Grant{ClientID: "cc-id", Scope: "read"}, false); return err }},
		{"lookup access", func() error { _, err := s.LookupAccess(ctx, iss.AccessToken); return err }},
		{"lookup refresh", func() error { _, err := s.LookupRefresh(ctx, iss.RefreshToken); return err }},
		{"rotate", func() error { _, err := s.Rotate(ctx, iss.RefreshToken, "rs-id", ""); return err }},
	} {
		c.n.Store(0)
		if err := tc.op(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := c.n.Load(); n != 1 {
			t.Errorf("%s took %d round trips, want 1", tc.name, n)
		}
	}
}
