package oauth

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

func TestClientCredentialsScopes(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	cl := fakeClients{
		"cc":   {ClientID: "cc", SecretHash: "s", Type: clients.Confidential, GrantTypesRaw: "client_credentials"},
		"wr":   {ClientID: "wr", SecretHash: "s", Type: clients.Confidential, GrantTypesRaw: "client_credentials", ScopesRaw: "write"},
		"pub":  {ClientID: "pub", Type: clients.Public, GrantTypesRaw: "authorization_code", RedirectURIsRaw: webCB},
		"pass": {ClientID: "pass", SecretHash: "s", Type: clients.Confidential, GrantTypesRaw: "password"},
	}
	store := tokens.New(testenv.TokenClient(t, rdb, tokens.Dial), testenv.Prefix(), tokens.Lifetimes{Access: 3600e9, Refresh: 7200e9})
	s := NewServer(Config{Scopes: scope.Set{"read", "write", "introspection"}, DefaultScopes: scope.Set{"read"}},
		Deps{Clients: cl, Tokens: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, tt := range []struct {
		name, client, scope, code, want string
	}{
		{name: "defaults", client: "cc", want: "read"},
		{name: "asked, in request order", client: "cc", scope: "write read", want: "write read"},
		{name: "unknown scope", client: "cc", scope: "admin", code: CodeInvalidScope},
		{name: "beyond the client's", client: "wr", scope: "read", code: CodeInvalidScope},
		{name: "no default the client may have", client: "wr", code: CodeInvalidScope},
		{name: "the client's own", client: "wr", scope: "write", want: "write"},
		{name: "public client", client: "pub", code: CodeUnauthorizedClient},
		{name: "client without the grant", client: "pass", code: CodeUnauthorizedClient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}}
			if tt.scope != "" {
				form.Set("scope", tt.scope)
			}
			secret := "s"
			if tt.client == "pub" {
				secret = ""
			}
			resp, oerr := s.Token(context.Background(), TokenRequest{Form: form,
				Credentials: Credentials{ClientID: tt.client, Secret: secret, SecretSent: secret != ""}})
			if tt.code != "" {
				if oerr == nil || oerr.Code != tt.code {
					t.Fatalf("got %+v, %v; want %s", resp, oerr, tt.code)
				}
				return
			}
			if oerr != nil || resp.Scope != tt.want || resp.RefreshToken != "" || resp.AccessToken == "" {
				t.Fatalf("got %+v, %v", resp, oerr)
			}
		})
	}
}
