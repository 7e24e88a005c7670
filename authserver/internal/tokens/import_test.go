package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestImport stores tokens issued by another server (DOT's format) from
// their plaintext: they introspect, rotate into this store's format, are
// revoked with their user, and an import run twice changes nothing.
func TestImport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const at, rt = "D5t8bU7F2MXphhAnXsEdBHyX7xdEEN", "rT9pW2kQ7xLm4nB8vC3zY6hJ1sD5fG"
		exp := e.now().Add(time.Hour).Truncate(time.Second)
		in := ImportedTokens{Grant: userGrant(40), AccessToken: at, AccessExpiresAt: exp, RefreshToken: rt,
			RefreshExpiresAt: e.now().Add(24 * time.Hour).Truncate(time.Second), IssuedAt: e.now().Add(-time.Minute).Truncate(time.Second)}
		if err := e.s.Import(ctx, in); err != nil {
			t.Fatal(err)
		}
		// Until the store accepts imports, such a token costs nothing.
		wantLive(t, e, at, false)
		if err := e.s.AcceptImported(ctx); err != nil {
			t.Fatal(err)
		}
		a, err := e.s.LookupAccess(ctx, at)
		if err != nil {
			t.Fatalf("imported access token: %v", err)
		}
		if a.UserID != 40 || a.ClientID != "rs-id" || a.Scope != in.Scope || !a.ExpiresAt.Equal(exp) || !a.IssuedAt.Equal(in.IssuedAt) {
			t.Fatalf("imported access token reads %+v", a)
		}
		for _, k := range e.keys(t) {
			if strings.Contains(k, at) || strings.Contains(k, rt) {
				t.Fatalf("a key holds the imported token: %s", k)
			}
		}
		// Run twice: the same family, nothing rewritten.
		if err := e.s.Import(ctx, in); err != nil {
			t.Fatal(err)
		}
		next, err := e.s.Rotate(ctx, rt, "rs-id", "")
		if err != nil {
			t.Fatalf("rotating the imported refresh token: %v", err)
		}
		if !strings.HasPrefix(next.AccessToken, accessPrefix) || next.Family != a.Family {
			t.Fatalf("rotation gave %+v", next)
		}
		wantLive(t, e, at, false) // rotated away with its family's access token
		if err := e.s.Import(ctx, in); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, at, false) // an import run again brings nothing back
		wantLive(t, e, next.AccessToken, true)

		// A second grant, revoked with its user.
		in2 := ImportedTokens{Grant: userGrant(40), AccessToken: at + "2", AccessExpiresAt: exp}
		if err := e.s.Import(ctx, in2); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, in2.AccessToken, true)
		if found, err := e.s.RevokeToken(ctx, in2.AccessToken, "", "other-client"); found || err != nil {
			t.Fatalf("another client revoking it: found=%v err=%v", found, err)
		}
		// (A zero Checked means "read it now": start from a later one.)
		if err := e.s.RevokeUser(ctx, 41, "", "deactivated"); err != nil {
			t.Fatal(err)
		}
		before, err := e.s.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.RevokeUser(ctx, 40, "", "deactivated"); err != nil {
			t.Fatal(err)
		}
		wantLive(t, e, in2.AccessToken, false)
		wantLive(t, e, next.AccessToken, false)
		// An import checked before the revocation is refused.
		in3 := in2
		in3.AccessToken, in3.Checked = at+"3", Checked{User: before, Client: before}
		if err := e.s.Import(ctx, in3); !errors.Is(err, ErrRevoked) {
			t.Fatalf("import checked before the revocation: %v, want ErrRevoked", err)
		}
	})
}

func TestImportRefusesOwnFormatAndJunk(t *testing.T) {
	s := New(nil, "x:", testLife)
	own, err := newToken(accessPrefix, "AAAAAAAAAAAAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", own, "has space", strings.Repeat("a", 256), "caf\u00e9"} {
		if err := s.Import(context.Background(), ImportedTokens{Grant: userGrant(1), AccessToken: tok, AccessExpiresAt: time.Now().Add(time.Hour)}); err == nil {
			t.Errorf("Import(%q) accepted", tok)
		}
	}
}
