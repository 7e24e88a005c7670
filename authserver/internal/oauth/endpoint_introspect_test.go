package oauth

import (
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// FuzzIntrospectNeverIssued: whatever token string, hint and caller
// credentials arrive, introspection never answers active for a token that
// was not issued, and never errors with anything but the protocol's own
// 401 or 503.
func FuzzIntrospectNeverIssued(f *testing.F) {
	mr := miniredis.RunT(f)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	f.Cleanup(func() { _ = rdb.Close() })
	e := newCodeEnv(f, rdb, testenv.Prefix())
	ctx := context.Background()
	issued, err := e.store.Issue(ctx, grant.Grant{ClientID: "pw", UserID: 7, Username: "user1@email.com", Scope: "read"}, true)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"", "x", issued.RefreshToken, issued.AccessToken[:len(issued.AccessToken)-1] + "A",
		strings.Replace(issued.AccessToken, "pcat_", "pcrt_", 1), "pcat_" + strings.Repeat("A", 59),
		"pcat_{fam}" + strings.Repeat("A", 54), "D5t8bU7F2MXphhAnXsEdBHyX7xdEEN",
	} {
		f.Add(seed, "access_token", "pw", "pw-secret")
		f.Add(seed, "refresh_token", "pw", "pw-secret")
	}
	f.Fuzz(func(t *testing.T, token, hint, id, secret string) {
		out, oerr := e.s.Introspect(ctx, IntrospectRequest{Token: token, TokenTypeHint: hint,
			Credentials: Credentials{ClientID: id, Secret: secret, SecretSent: true}})
		if oerr != nil {
			if oerr.Code != CodeInvalidClient && oerr.Code != CodeTemporarilyUnavail {
				t.Fatalf("unexpected error %v", oerr)
			}
			return
		}
		if !out.Active {
			if out != wire.Inactive {
				t.Fatalf("an inactive answer carries data: %+v", out)
			}
			return
		}
		switch {
		case token == issued.AccessToken:
		case token == issued.RefreshToken && hint == "refresh_token":
		default:
			t.Fatalf("active for a token never issued: %q (hint %q)", token, hint)
		}
	})
}

func TestIntrospectRefreshTokenNeedsTheHint(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *codeEnv) {
		ctx := context.Background()
		iss, err := e.store.Issue(ctx, grant.Grant{ClientID: "pw", UserID: 7, Username: "user1@email.com", Scope: "read"}, true)
		if err != nil {
			t.Fatal(err)
		}
		cr := Credentials{ClientID: "pw", Secret: "pw-secret", SecretSent: true}
		for _, tt := range []struct {
			name, token, hint string
			active            bool
			typ               string
		}{
			{"access", iss.AccessToken, "", true, "Bearer"},
			{"refresh without hint", iss.RefreshToken, "", false, ""},
			{"refresh hinted as access", iss.RefreshToken, "access_token", false, ""},
			{"refresh with hint", iss.RefreshToken, "refresh_token", true, "refresh_token"},
			{"access with the refresh hint falls back", iss.AccessToken, "refresh_token", true, "Bearer"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				out, oerr := e.s.Introspect(ctx, IntrospectRequest{Token: tt.token, TokenTypeHint: tt.hint, Credentials: cr})
				if oerr != nil {
					t.Fatal(oerr)
				}
				if out.Active != tt.active || out.TokenType != tt.typ {
					t.Fatalf("got %+v", out)
				}
				if tt.active && (out.Sub != "7" || out.Username != "user1@email.com" || out.ClientID != "pw") {
					t.Fatalf("claims: %+v", out)
				}
			})
		}
		// A public client may not introspect, nor may an unauthenticated caller.
		if _, oerr := e.s.Introspect(ctx, IntrospectRequest{Token: iss.AccessToken, Credentials: Credentials{ClientID: "spa"}}); oerr == nil || oerr.Status != 401 {
			t.Fatalf("public client: %v", oerr)
		}
		if _, oerr := e.s.Introspect(ctx, IntrospectRequest{Token: iss.AccessToken}); oerr == nil || oerr.Status != 401 {
			t.Fatalf("nobody: %v", oerr)
		}
	})
}
