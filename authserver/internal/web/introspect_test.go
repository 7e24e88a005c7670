package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

// TestIntrospectionBearerChallenge is issue 12's defect 5: a Bearer caller
// of /o/introspect/ whose token cannot introspect is answered with a Bearer
// challenge (RFC 7662 §2.3 → RFC 6750 §3), not Basic and invalid_client.
func TestIntrospectionBearerChallenge(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		issue := func(sc string) string {
			iss, err := s.tokens.Issue(ctx, tokens.Grant{ClientID: "c", UserID: s.user.ID, Username: s.user.Email, Scope: sc}, false)
			if err != nil {
				t.Fatal(err)
			}
			return iss.AccessToken
		}
		target := issue("read")
		for _, tt := range []struct {
			name, authz  string
			status       int
			code, scheme string
			scope        bool
		}{
			{"no introspection scope", "Bearer " + issue("read write"), http.StatusForbidden, "insufficient_scope", "Bearer ", true},
			{"unknown token", "Bearer pcat_nope", http.StatusUnauthorized, "invalid_token", "Bearer ", false},
			{"no credentials", "", http.StatusUnauthorized, "invalid_client", "Basic ", false},
			{"introspection scope", "Bearer " + issue("introspection"), http.StatusOK, "", "", false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/o/introspect/", strings.NewReader(url.Values{"token": {target}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tt.authz != "" {
					req.Header.Set("Authorization", tt.authz)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Fatal(err)
				}
				ch := resp.Header.Get("WWW-Authenticate")
				if resp.StatusCode != tt.status || !strings.HasPrefix(ch, tt.scheme) || tt.scheme == "" && ch != "" {
					t.Fatalf("%d %q %v", resp.StatusCode, ch, body)
				}
				if tt.code == "" {
					if body["active"] != true {
						t.Fatalf("not active: %v", body)
					}
					return
				}
				if body["error"] != tt.code || tt.scheme == "Bearer " && !strings.Contains(ch, `error="`+tt.code+`"`) {
					t.Fatalf("%q %v", ch, body)
				}
				if tt.scope && !strings.Contains(ch, `scope="introspection"`) {
					t.Fatalf("challenge does not name the scope: %q", ch)
				}
			})
		}
	})
}
