package tokens

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// TestRevokeUserWalksInTheBackground: with RunCleanup going, a user-wide
// revocation (a password change, a deactivation) makes the same number of
// Redis round trips in the request for a user with 3 families as for one with
// 300: the epoch bump and the event. The families' tokens are refused at
// once (the epoch), and the cleaner then deletes them, empties the user's
// index and names their hashes in events.
func TestRevokeUserWalksInTheBackground(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cc := &countingClient{Client: tokenClient(t, e.rdb)}
		s := New(cc, e.prefix, testLife)
		s.now = e.now
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.RunCleanup(runCtx, 16, slog.New(slog.DiscardHandler)); close(done) }()
		t.Cleanup(func() { stop(); <-done })
		servicetest.Eventually(t, 5*time.Second, "the cleaner starts", func() bool { return s.cleaner.Load() != nil })
		ev := e.subscribe(t)

		cost := map[int]int64{}
		for _, families := range []int{3, 300} {
			uid := int64(1000 + families)
			var first string
			for i := range families {
				iss := mustIssue(t, e, userGrant(uid), i%2 == 0)
				if i == 0 {
					first = iss.AccessToken
				}
			}
			before := cc.n.Load()
			if err := s.RevokeUser(ctx, uid, "", revocation.ReasonPasswordChange); err != nil {
				t.Fatal(err)
			}
			cost[families] = cc.n.Load() - before
			if got := ev(); got.Kind != revocation.KindSubject || got.Subject != strconv.FormatInt(uid, 10) {
				t.Fatalf("first event %+v, want the subject's", got)
			}
			wantLive(t, e, first, false)
			servicetest.Eventually(t, 30*time.Second, "the cleaner empties the user's index", func() bool {
				return len(indexMembers(t, e, e.s.keyUser(uid))) == 0
			})
			var named int
			for named < families+(families+1)/2 {
				got := ev()
				if got.Kind != revocation.KindTokens || got.Reason != revocation.ReasonPasswordChange {
					t.Fatalf("cleanup event %+v, want tokens named as password_change", got)
				}
				named += len(got.TokenHashes)
			}
		}
		if cost[3] != cost[300] || cost[3] > 4 {
			t.Fatalf("Redis round trips in the request: %d for 3 families, %d for 300; want the same few", cost[3], cost[300])
		}
	})
}
