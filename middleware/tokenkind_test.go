package middleware

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
)

// TestOnlyAccessTokensPass feeds the verifier the answers of four servers
// for every kind of token they call active: only access tokens pass, the
// rest get 401 invalid_token (issue 12, item 8: Hydra's refresh token went
// through).
func TestOnlyAccessTokensPass(t *testing.T) {
	shapes := []struct {
		name  string
		shape introspecttest.Shape
	}{
		{"hydra", introspecttest.Hydra},
		{"keycloak", introspecttest.Keycloak},
		{"dot", introspecttest.DOT},
		{"portcullis", introspecttest.Portcullis},
	}
	kinds := []introspecttest.Kind{introspecttest.AccessToken, introspecttest.RefreshToken, introspecttest.OfflineToken, introspecttest.IDToken}
	r := newRig(t)
	h := r.v.Handler(okHandler)
	c := introspecttest.Claims{Subject: "42", Username: "user1@email.com", ClientID: "rs-id", Scope: "read write",
		Exp: time.Now().Add(time.Hour).Unix(), Iat: time.Now().Unix()}
	for _, sh := range shapes {
		for _, k := range kinds {
			t.Run(sh.name+"/"+k.String(), func(t *testing.T) {
				tok := "tok-" + sh.name + "-" + k.String()
				r.fake.RegisterRaw(tok, sh.shape(k, c))
				id, err := r.v.Verify(bg(), tok)
				w := do(h, "Bearer "+tok)
				if k == introspecttest.AccessToken {
					if err != nil || id.ClientID != "rs-id" || w.Code != http.StatusOK {
						t.Fatalf("access token refused: %v, %+v, HTTP %d", err, id, w.Code)
					}
					return
				}
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("%s token: err %v, want ErrInvalidToken", k, err)
				}
				if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Bearer realm="api", error="invalid_token"` {
					t.Fatalf("%s token: HTTP %d %q", k, w.Code, w.Header().Get("WWW-Authenticate"))
				}
			})
		}
	}
	// Every refusal was cached: asking again costs no call.
	before := r.fake.Calls()
	_, _ = r.v.Verify(bg(), "tok-hydra-refresh")
	if r.fake.Calls() != before {
		t.Errorf("a refused refresh token was introspected again")
	}
}

func TestCheckAccessToken(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"no kind at all (DOT)", `{"active": true}`, nil},
		{"token_type Bearer", `{"active": true, "token_type": "Bearer"}`, nil},
		{"token_type bearer (Hydra)", `{"active": true, "token_type": "bearer", "token_use": "access_token"}`, nil},
		{"token_type empty, token_use access_token", `{"active": true, "token_type": "", "token_use": "access_token"}`, nil},
		{"RFC 8693 URN", `{"active": true, "token_type": "urn:ietf:params:oauth:token-type:access_token"}`, nil},
		{"typ Bearer (Keycloak)", `{"active": true, "typ": "Bearer", "token_type": "Bearer"}`, nil},
		{"token_use refresh_token, hint ignored (Hydra)", `{"active": true, "token_type": "", "token_use": "refresh_token"}`, errNotAccess},
		{"token_use refresh_token beside token_type bearer", `{"active": true, "token_type": "bearer", "token_use": "refresh_token"}`, errNotAccess},
		{"typ Refresh (Keycloak)", `{"active": true, "typ": "Refresh"}`, errNotAccess},
		{"typ Refresh, token_type Bearer", `{"active": true, "typ": "Refresh", "token_type": "Bearer"}`, errNotAccess},
		{"typ Offline", `{"active": true, "typ": "Offline"}`, errNotAccess},
		{"typ ID", `{"active": true, "typ": "ID"}`, errNotAccess},
		{"token_type refresh_token (Portcullis)", `{"active": true, "token_type": "refresh_token"}`, errNotAccess},
		{"token_type DPoP: no proof is checked", `{"active": true, "token_type": "DPoP"}`, errNotAccess},
		{"RFC 8693 refresh URN", `{"active": true, "token_type": "urn:ietf:params:oauth:token-type:refresh_token"}`, errNotAccess},
		{"token_use as number", `{"active": true, "token_use": 1}`, errBadClaims},
		{"typ as object", `{"active": true, "typ": {}}`, errBadClaims},
		{"token_use null", `{"active": true, "token_use": null}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseAnswer([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if a.reject != tc.want {
				t.Fatalf("reject %v, want %v", a.reject, tc.want)
			}
		})
	}
}
