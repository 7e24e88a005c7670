package tokens

import (
	"context"
	"testing"
)

func TestCountLiveGrants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		count := func(user int64, client string) (int, int) {
			t.Helper()
			u, err := e.s.CountUser(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			c, err := e.s.CountClient(ctx, client)
			if err != nil {
				t.Fatal(err)
			}
			return u, c
		}
		if u, c := count(9, "a"); u != 0 || c != 0 {
			t.Fatalf("nothing issued: %d %d", u, c)
		}
		a := mustIssue(t, e, Grant{ClientID: "a", UserID: 9, Username: "u", Scope: "read"}, true)
		mustIssue(t, e, Grant{ClientID: "a", UserID: 9, Username: "u", Scope: "read"}, false)
		mustIssue(t, e, Grant{ClientID: "b", UserID: 9, Username: "u", Scope: "read"}, true)
		mustIssue(t, e, Grant{ClientID: "a"}, false) // client credentials: no user
		if u, c := count(9, "a"); u != 3 || c != 3 {
			t.Fatalf("issued: user %d (want 3), client %d (want 3)", u, c)
		}
		// A rotation keeps the grant: still one family.
		if _, err := e.s.Rotate(ctx, a.RefreshToken, "a", ""); err != nil {
			t.Fatal(err)
		}
		if u, _ := count(9, "a"); u != 3 {
			t.Fatalf("after a rotation: %d", u)
		}
		if err := e.s.RevokeUserClient(ctx, 9, "a", "test"); err != nil {
			t.Fatal(err)
		}
		if u, c := count(9, "a"); u != 1 || c != 1 {
			t.Fatalf("after revoking user 9 at a: user %d (want 1), client %d (want 1)", u, c)
		}
		if err := e.s.RevokeClient(ctx, "b", "test"); err != nil {
			t.Fatal(err)
		}
		if u, _ := count(9, "a"); u != 0 {
			t.Fatalf("after revoking b: user %d", u)
		}
		// Expired tokens are not counted.
		mustIssue(t, e, Grant{ClientID: "c", UserID: 11, Username: "w", Scope: "read"}, false)
		e.advance(e.s.life.Access + 2*bucketWidth)
		if u, c := count(11, "c"); u != 0 || c != 0 {
			t.Fatalf("after expiry: %d %d", u, c)
		}
	})
}
