package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

// failingClients is a client registry whose store is down.
type failingClients struct{ fakeClients }

func (failingClients) Authenticate(context.Context, string, string, bool) (clients.Client, error) {
	return clients.Client{}, errors.New("clients: connection refused")
}

func TestTokenEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client Credentials
		form   url.Values
		code   string
		status int
	}{
		{name: "no grant_type", client: creds("rs-id", "rs-secret"), form: url.Values{},
			code: CodeUnsupportedGrantType, status: http.StatusBadRequest},
		{name: "an unknown grant_type", client: creds("rs-id", "rs-secret"), form: url.Values{"grant_type": {"telepathy"}},
			code: CodeUnsupportedGrantType, status: http.StatusBadRequest},
		{name: "the implicit grant is not a token grant", client: creds("rs-id", "rs-secret"), form: url.Values{"grant_type": {"implicit"}},
			code: CodeUnsupportedGrantType, status: http.StatusBadRequest},
		{name: "a repeated parameter", client: creds("rs-id", "rs-secret"), form: url.Values{"grant_type": {"password", "password"}},
			code: CodeInvalidRequest, status: http.StatusBadRequest},
		{name: "a repeated scope", client: creds("cc", "cc-secret"), form: url.Values{"grant_type": {"client_credentials"}, "scope": {"read", "write"}},
			code: CodeInvalidRequest, status: http.StatusBadRequest},
		{name: "no client: authentication comes before the grant", client: Credentials{}, form: url.Values{"grant_type": {"telepathy"}},
			code: CodeInvalidClient, status: http.StatusUnauthorized},
		{name: "an unknown client", client: creds("ghost", "x"), form: url.Values{"grant_type": {"client_credentials"}},
			code: CodeInvalidClient, status: http.StatusUnauthorized},
		{name: "a public client sending a secret", client: creds("spa", "x"), form: url.Values{"grant_type": {"client_credentials"}},
			code: CodeInvalidClient, status: http.StatusUnauthorized},
		{name: "client_credentials", client: creds("cc", "cc-secret"), form: url.Values{"grant_type": {"client_credentials"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUnitEnv()
			resp, oerr := e.s.Token(context.Background(), TokenRequest{Form: tc.form, Credentials: tc.client})
			if tc.code != "" {
				if oerr == nil || oerr.Code != tc.code || oerr.Status != tc.status {
					t.Fatalf("got %+v, %v; want %s (%d)", resp, oerr, tc.code, tc.status)
				}
				if len(e.obs.issued) != 0 || len(e.tok.issued) != 0 {
					t.Fatalf("refused, yet issued %v / %v", e.obs.issued, e.tok.issued)
				}
				return
			}
			if oerr != nil {
				t.Fatal(oerr)
			}
			if resp.TokenType != "Bearer" || resp.ExpiresIn < 3590 || resp.ExpiresIn > 3600 || resp.RefreshToken != "" {
				t.Fatalf("response %+v: want a Bearer token for about an hour and no refresh token", resp)
			}
			if e.obs.issued["client_credentials"] != 1 || len(e.obs.issued) != 1 {
				t.Fatalf("issued counts %v, want client_credentials 1", e.obs.issued)
			}
		})
	}
}

// TestTokenEndpointClientStoreDown: a client registry that fails is a 503,
// never an invalid_client the client would act on.
func TestTokenEndpointClientStoreDown(t *testing.T) {
	e := newUnitEnv()
	e.s.clients = failingClients{unitClients}
	_, oerr := e.s.Token(context.Background(), TokenRequest{Form: url.Values{"grant_type": {"client_credentials"}}, Credentials: creds("cc", "cc-secret")})
	if oerr == nil || oerr.Code != CodeTemporarilyUnavail || oerr.Status != http.StatusServiceUnavailable || oerr.RetryAfter == 0 {
		t.Fatalf("got %+v, want temporarily_unavailable (503) with Retry-After", oerr)
	}
}
