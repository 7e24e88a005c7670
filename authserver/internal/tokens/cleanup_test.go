package tokens

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// startCleaner runs s.RunCleanup until the test ends.
func startCleaner(t *testing.T, s *Store) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunCleanup(ctx, 16, slog.New(slog.DiscardHandler)); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	servicetest.Eventually(t, 5*time.Second, "the cleaner starts", func() bool { return s.cleaner.Load() != nil })
}

// heldCleaner stands in for RunCleanup on s: jobs queue as they would for
// a running cleaner, and run (as RunCleanup runs them) only when the test
// calls the returned function, so that a count of the request's Redis
// commands is not mixed with the cleaner's.
func heldCleaner(t *testing.T, s *Store) (runQueued func()) {
	t.Helper()
	c := &cleaner{jobs: make(chan cleanupJob, 16), log: slog.New(slog.DiscardHandler)}
	s.cleaner.Store(c)
	t.Cleanup(func() { s.cleaner.Store(nil) })
	return func() {
		t.Helper()
		select {
		case j := <-c.jobs:
			s.runJob(context.Background(), c.log, j)
		default:
			t.Fatal("no cleanup job queued")
		}
	}
}

// TestUserWideRevocationWalksInTheBackground: with a cleaner going, a
// revocation of all of a user's tokens (a password change, a deactivation)
// or of the user's grant to one application makes the same few Redis
// round trips in the request for 3 families as for 300: the epoch bump and
// the user's event, which makes every cache drop the user's answers. The
// tokens are refused at once (the epoch); the cleaner then deletes them,
// takes them from the user's index and names their hashes in KindTokens
// events. A revocation of one application leaves the user's families of
// another.
func TestUserWideRevocationWalksInTheBackground(t *testing.T) {
	for _, tt := range []struct {
		name     string
		reason   revocation.Reason
		revoke   func(ctx context.Context, s *Store, uid int64) error
		oneApp   bool  // only rs-id's families are revoked
		maxCost  int64 // Redis round trips in the request
		uidStart int64
	}{
		{"user", revocation.ReasonPasswordChange, func(ctx context.Context, s *Store, uid int64) error {
			return s.RevokeUser(ctx, uid, "", revocation.ReasonPasswordChange)
		}, false, 4, 1000},
		{"one application", revocation.ReasonApplicationRevoked, func(ctx context.Context, s *Store, uid int64) error {
			return s.RevokeUserClient(ctx, uid, "rs-id", revocation.ReasonApplicationRevoked)
		}, true, 3, 2000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, e *env) {
				ctx := context.Background()
				cc := &countingClient{Client: tokenClient(t, e.rdb)}
				s := New(cc, e.prefix, testLife)
				s.now = e.now
				runQueued := heldCleaner(t, s)
				ev := e.subscribe(t)

				cost := map[int]int64{}
				for _, families := range []int{3, 300} {
					uid := tt.uidStart + int64(families)
					var other grant.Issued
					if tt.oneApp {
						other = mustIssue(t, e, grant.Grant{ClientID: "other-id", UserID: uid, Username: "u", Scope: "read"}, true)
					}
					var first string
					for i := range families {
						iss := mustIssue(t, e, userGrant(uid), i%2 == 0)
						if i == 0 {
							first = iss.AccessToken
						}
					}
					before := cc.n.Load()
					if err := tt.revoke(ctx, s, uid); err != nil {
						t.Fatal(err)
					}
					cost[families] = cc.n.Load() - before
					wantLive(t, e, first, false)
					if got := ev(); got.Kind != revocation.KindSubject || got.Subject != strconv.FormatInt(uid, 10) || got.Reason != tt.reason {
						t.Fatalf("first event %+v, want the user's, as %s", got, tt.reason)
					}
					runQueued()
					var named int
					for named < families+(families+1)/2 {
						got := ev()
						if got.Kind != revocation.KindTokens || got.Reason != tt.reason {
							t.Fatalf("cleanup event %+v, want tokens named as %s", got, tt.reason)
						}
						named += len(got.TokenHashes)
					}
					servicetest.Eventually(t, 30*time.Second, "the cleaner takes the revoked families from the user's index", func() bool {
						got := indexMembers(t, e, e.s.keyUser(uid))
						if tt.oneApp {
							return len(got) == 1 && got[0] == other.Family
						}
						return len(got) == 0
					})
					if tt.oneApp {
						wantLive(t, e, other.AccessToken, true)
					}
				}
				if cost[3] != cost[300] || cost[3] > tt.maxCost {
					t.Fatalf("Redis round trips in the request: %d for 3 families, %d for 300; want the same, at most %d", cost[3], cost[300], tt.maxCost)
				}
			})
		})
	}
}

// TestRevokedOneByOneLeaveTheIndexes: a family or a lone access token
// revoked on its own (RFC 7009 revocation, a refresh token replayed, a
// rotation refused by an epoch) leaves its user's and its client's index,
// through the cleaner when one runs (RunCleanup), else at once; an access
// token of a family that lives on, and every other family, stay indexed.
func TestRevokedOneByOneLeaveTheIndexes(t *testing.T) {
	for _, cleaner := range []bool{false, true} {
		t.Run(map[bool]string{false: "in the request", true: "in the cleaner"}[cleaner], func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, e *env) {
				ctx := context.Background()
				if cleaner {
					startCleaner(t, e.s)
				}
				e.s.SetReuseGrace(0)
				const uid = 31
				kept := mustIssue(t, e, userGrant(uid), true)
				revoked := mustIssue(t, e, userGrant(uid), true)
				alone := mustIssue(t, e, userGrant(uid), false)
				cc := mustIssue(t, e, grant.Grant{ClientID: "cc-id", Scope: "read"}, false)
				replayed := mustIssue(t, e, userGrant(uid), true)
				pair := mustIssue(t, e, grant.Grant{ClientID: "other-id", UserID: uid, Username: "u", Scope: "read"}, true)

				for _, r := range []struct{ token, client string }{
					{kept.AccessToken, "rs-id"}, // its family lives on
					{revoked.RefreshToken, "rs-id"},
					{alone.AccessToken, "rs-id"},
					{cc.AccessToken, "cc-id"},
				} {
					if found, err := e.s.RevokeToken(ctx, r.token, "", r.client); err != nil || !found {
						t.Fatalf("revoke: %v, %v", found, err)
					}
				}
				if _, err := e.s.Rotate(ctx, replayed.RefreshToken, "rs-id", ""); err != nil {
					t.Fatal(err)
				}
				if _, err := e.s.Rotate(ctx, replayed.RefreshToken, "rs-id", ""); !errors.Is(err, grant.ErrReplayed) {
					t.Fatalf("replay: %v", err)
				}
				// A rotation refused by the pair's epoch deletes the family.
				if err := e.s.bump(ctx, "p", pairID(uid, "other-id"), []byte{pair.Family[0]}, bumpArgs{}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.s.Rotate(ctx, pair.RefreshToken, "other-id", ""); !errors.Is(err, grant.ErrNotFound) {
					t.Fatalf("rotation after the pair's bump: %v", err)
				}

				for _, want := range []struct {
					idx     string
					members []string
				}{
					{e.s.keyUser(uid), []string{kept.Family}},
					{e.s.keyClient("rs-id"), []string{kept.Family}},
					{e.s.keyClient("cc-id"), nil},
					{e.s.keyClient("other-id"), nil},
				} {
					servicetest.Eventually(t, 10*time.Second, "index "+want.idx+" holds only what lives", func() bool {
						got := indexMembers(t, e, want.idx)
						slices.Sort(got)
						return slices.Equal(got, want.members)
					})
				}
			})
		})
	}
}
