package tokens

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// TestRevokeUserClientIsAFact: once a user's revocation of an application
// returns, no token of that user and application is accepted that came
// from a request started before the revocation was called, however late
// it finished (the index walk alone missed those that finished after it
// read the index), and a code approved before gives no token. A family
// rotating meanwhile ends. Other applications of the user stay. (Requests
// started during the call may go either way: a revoked application may be
// granted again, and those are as if granted after.)
func TestRevokeUserClientIsAFact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const uid, app = 60, "app"
		userApp := func(gen int64) grant.Grant {
			return grant.Grant{ClientID: app, UserID: uid, Username: "u60", Scope: "read", Checked: grant.Checked{User: gen, Client: gen}}
		}
		gen, err := e.s.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		code, err := e.s.IssueCode(ctx, grant.Code{ClientID: app, UserID: uid, Username: "u60", Scope: "read", RedirectURI: "https://app/cb", Checked: gen})
		if err != nil {
			t.Fatal(err)
		}
		other := mustIssue(t, e, grant.Grant{ClientID: "other", UserID: uid, Username: "u60", Scope: "read", Checked: grant.Checked{User: gen, Client: gen}}, true)
		if err := e.s.RevokeUserClient(ctx, uid, app, revocation.ReasonApplicationRevoked); err != nil {
			t.Fatal(err)
		}
		// A grant that checked before and issues after (a password grant
		// busy hashing while the user revoked the application).
		if _, err := e.s.Issue(ctx, userApp(gen), true); !errors.Is(err, grant.ErrRevoked) {
			t.Fatalf("a grant checked before the revocation, issued after: %v, want ErrRevoked", err)
		}
		c, err := e.s.ConsumeCode(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		g := userApp(c.Checked)
		if _, err := e.s.IssueForCode(ctx, code, g); !errors.Is(err, grant.ErrRevoked) {
			t.Fatalf("a code approved before the revocation: %v, want ErrRevoked", err)
		}
		wantLive(t, e, other.AccessToken, true)

		// Grants and a rotation in flight, 20 rounds.
		for round := range 20 {
			var calling, stop atomic.Bool
			type result struct {
				iss    grant.Issued
				before bool // started before the revocation was called
			}
			var mu sync.Mutex
			var results []result
			var started atomic.Int64
			record := func(iss grant.Issued, after bool) {
				mu.Lock()
				results = append(results, result{iss, after})
				mu.Unlock()
			}
			fam, err := e.s.Issue(ctx, userApp(gen+int64(round)+1), true)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rt := fam.RefreshToken
					for !stop.Load() {
						before := !calling.Load() // read before anything is checked
						g, err := e.s.Generation(ctx)
						if err != nil {
							t.Error(err)
							return
						}
						var iss grant.Issued
						if w == 0 { // one rotates the family that was there before
							iss, err = e.s.Rotate(ctx, rt, app, "")
							if errors.Is(err, grant.ErrNotFound) {
								started.Add(1)
								continue // the family ended
							}
							rt = iss.RefreshToken
						} else {
							iss, err = e.s.Issue(ctx, userApp(g), true)
							if errors.Is(err, grant.ErrRevoked) {
								started.Add(1)
								continue
							}
						}
						if err != nil {
							t.Error(err)
							return
						}
						started.Add(1)
						record(iss, before)
					}
				}()
			}
			eventually(t, "every worker to get going", func() bool { return started.Load() >= 8 })
			calling.Store(true)
			if err := e.s.RevokeUserClient(ctx, uid, app, revocation.ReasonApplicationRevoked); err != nil {
				t.Fatal(err)
			}
			n := started.Load()
			eventually(t, "the workers to go on after the revocation", func() bool { return started.Load() >= n+8 })
			stop.Store(true)
			wg.Wait()
			survivors := 0
			for _, r := range results {
				if !r.before {
					continue
				}
				if _, err := e.s.LookupAccess(ctx, r.iss.AccessToken); !errors.Is(err, grant.ErrNotFound) {
					survivors++
				}
				if _, err := e.s.LookupRefresh(ctx, r.iss.RefreshToken); !errors.Is(err, grant.ErrNotFound) {
					survivors++
				}
			}
			if survivors > 0 {
				t.Fatalf("round %d: %d tokens from requests started before the revocation are still accepted", round, survivors)
			}
		}
		wantLive(t, e, other.AccessToken, true)
	})
}
