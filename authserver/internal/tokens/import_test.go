package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// dotToken returns a token in DOT's shape (30 of [A-Za-z0-9]), distinct per
// seed.
func dotToken(seed string) string {
	return (seed + strings.Repeat("x", 30))[:30]
}

func importPair(t *testing.T, e *env, p Imported) bool {
	t.Helper()
	created, err := e.s.Import(context.Background(), p, false)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return created
}

func dotPair(e *env, at, rt string) Imported {
	now := e.now()
	return Imported{Grant: userGrant(7), AccessToken: at, AccessIssuedAt: now.Add(-time.Minute),
		AccessExpiresAt: now.Add(10 * time.Hour), RefreshToken: rt, RefreshIssuedAt: now.Add(-time.Minute)}
}

func TestImportPairRotatesAsUsual(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		at, rt := dotToken("Access1"), dotToken("Refresh1")
		p := dotPair(e, at, rt)
		if !importPair(t, e, p) {
			t.Fatal("first import: created = false")
		}
		a, err := e.s.LookupAccess(ctx, at)
		if err != nil {
			t.Fatalf("LookupAccess: %v", err)
		}
		if a.Grant != p.Grant || !a.ExpiresAt.Equal(p.AccessExpiresAt.Truncate(time.Second)) || !a.IssuedAt.Equal(p.AccessIssuedAt.Truncate(time.Second)) {
			t.Fatalf("access = %+v, imported %+v", a, p)
		}
		r, err := e.s.LookupRefresh(ctx, rt)
		if err != nil || r.Grant != p.Grant || r.Family != a.Family {
			t.Fatalf("LookupRefresh = %+v, %v; access family %s", r, err, a.Family)
		}
		if got := r.ExpiresAt.Sub(e.now()); got < testLife.Refresh-2*time.Second || got > testLife.Refresh {
			t.Fatalf("refresh expires in %v, want the store's refresh lifetime %v", got, testLife.Refresh)
		}
		if importPair(t, e, p) {
			t.Fatal("second import: created = true")
		}

		iss, err := e.s.Rotate(ctx, rt, p.ClientID, "")
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if iss.Scope != p.Scope || iss.Family != a.Family {
			t.Fatalf("rotated = %+v", iss)
		}
		wantLive(t, e, at, false) // the rotation took the imported access token
		wantRefreshLive(t, e, rt, false)
		wantLive(t, e, iss.AccessToken, true)
		// Imported again after the rotation: nothing comes back.
		if importPair(t, e, p) {
			t.Fatal("import after rotation: created = true")
		}
		wantLive(t, e, at, false)
		wantRefreshLive(t, e, rt, false)

		// A replay past the grace period revokes the family.
		e.advance(defaultReuseGrace + time.Second)
		if _, err := e.s.Rotate(ctx, rt, p.ClientID, ""); !errors.Is(err, ErrReplayed) {
			t.Fatalf("replay: %v, want ErrReplayed", err)
		}
		wantLive(t, e, iss.AccessToken, false)
		wantRefreshLive(t, e, iss.RefreshToken, false)
	})
}

func TestImportRefreshWithoutAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rt := dotToken("OnlyRefresh")
		p := dotPair(e, "", rt)
		if !importPair(t, e, p) {
			t.Fatal("created = false")
		}
		if _, err := e.s.Rotate(ctx, rt, "another-client", ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another client's rotation: %v", err)
		}
		iss, err := e.s.Rotate(ctx, rt, p.ClientID, "read")
		if err != nil || iss.Scope != "read" {
			t.Fatalf("Rotate = %+v, %v", iss, err)
		}
		wantLive(t, e, iss.AccessToken, true)
		wantRefreshLive(t, e, rt, false)
	})
}

func TestImportAccessAloneAndRevocations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		at := dotToken("CcAccess")
		p := dotPair(e, at, "")
		p.Grant = Grant{ClientID: "cc-id", Scope: "read"}
		if !importPair(t, e, p) {
			t.Fatal("created = false")
		}
		wantLive(t, e, at, true)
		if found, err := e.s.RevokeToken(ctx, at, "", "cc-id"); err != nil || !found {
			t.Fatalf("RevokeToken = %v, %v", found, err)
		}
		wantLive(t, e, at, false)
		if importPair(t, e, p) {
			t.Fatal("a revoked token was imported again")
		}
		wantLive(t, e, at, false)

		// Revoking an imported refresh token takes its family.
		at2, rt2 := dotToken("Access2"), dotToken("Refresh2")
		importPair(t, e, dotPair(e, at2, rt2))
		if found, err := e.s.RevokeToken(ctx, rt2, "", "rs-id"); err != nil || !found {
			t.Fatalf("RevokeToken(refresh) = %v, %v", found, err)
		}
		wantLive(t, e, at2, false)
		wantRefreshLive(t, e, rt2, false)

		// The user's index holds imported families.
		at3, rt3 := dotToken("Access3"), dotToken("Refresh3")
		importPair(t, e, dotPair(e, at3, rt3))
		if err := e.s.RevokeUser(ctx, 7, "", "test"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, at3, false)
		wantRefreshLive(t, e, rt3, false)
	})
}

func TestImportDryRunWritesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := dotPair(e, dotToken("DryAccess"), dotToken("DryRefresh"))
		created, err := e.s.Import(context.Background(), p, true)
		if err != nil || !created {
			t.Fatalf("dry run = %v, %v; want true", created, err)
		}
		if k := e.keys(t); len(k) != 0 {
			t.Fatalf("a dry run wrote %v", k)
		}
		importPair(t, e, p)
		if created, err := e.s.Import(context.Background(), p, true); err != nil || created {
			t.Fatalf("dry run after the import = %v, %v; want false", created, err)
		}
	})
}

func TestImportRefusesWhatItCannotStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ours := mustIssue(t, e, userGrant(1), true)
		for name, p := range map[string]Imported{
			"nothing":        {Grant: userGrant(1)},
			"our access":     dotPair(e, ours.AccessToken, ""),
			"our refresh":    dotPair(e, "", ours.RefreshToken),
			"expired access": {Grant: userGrant(1), AccessToken: dotToken("Old"), AccessExpiresAt: e.now().Add(-time.Second)},
			"other alphabet": dotPair(e, "abc-def_ghi{x}", ""),
		} {
			if _, err := e.s.Import(context.Background(), p, false); !errors.Is(err, ErrNotImportable) {
				t.Errorf("%s: %v, want ErrNotImportable", name, err)
			}
		}
	})
}

// A token in DOT's shape may be an imported one, so it is looked up.
func TestDOTShapedTokensReachRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	s := New(tokenClient(t, rdb), "x:", testLife)
	tok := "D5t8bU7F2MXphhAnXsEdBHyX7xdEEN"
	if _, err := s.LookupAccess(context.Background(), tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("LookupAccess: %v, want ErrUnavailable", err)
	}
	if _, err := s.LookupRefresh(context.Background(), tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("LookupRefresh: %v, want ErrUnavailable", err)
	}
}
