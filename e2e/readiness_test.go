package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// readiness decodes a /readyz body, failing unless it has exactly the
// fields both services share.
func readiness(t *testing.T, r response) (status string, checks map[string]string, warnings []string) {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatalf("readyz body %s: %v", r.Body, err)
	}
	if got := slices.Sorted(maps.Keys(raw)); !slices.Equal(got, []string{"checks", "status", "warnings"}) {
		t.Fatalf("readyz fields %v, want checks, status, warnings: %s", got, r.Body)
	}
	var body struct {
		Status   string            `json:"status"`
		Checks   map[string]string `json:"checks"`
		Warnings []string          `json:"warnings"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Warnings == nil {
		t.Fatalf("readyz body %s: %v", r.Body, err)
	}
	return body.Status, body.Checks, body.Warnings
}

// TestReadinessOfBothServices: one body shape on both services; the
// resource server is unready while the auth server rejects its
// introspection secret (it used to say 200 while every request got 503),
// and stays ready, with a warning, while the auth server is down.
func TestReadinessOfBothServices(t *testing.T) {
	good := startStack(t, embeddedBackend(t), nil)
	auth, rs := newClient(t, good.auth.URL), newClient(t, good.rs.URL)
	for name, c := range map[string]*client{"authserver": auth, "resourceserver": rs} {
		r := c.do("GET", "/readyz", nil)
		expectStatus(t, r, 200)
		if status, checks, _ := readiness(t, r); status != "ok" || checks["database"] != "ok" {
			t.Fatalf("%s: %s", name, r.Body)
		}
	}
	if _, checks, _ := readiness(t, rs.do("GET", "/readyz", nil)); checks["introspection"] != "ok" {
		t.Fatalf("resource server checks %v", checks)
	}

	bad := startStack(t, embeddedBackend(t), map[string]string{"INTROSPECTION_CLIENT_SECRET": "wrong-secret"})
	brs := newClient(t, bad.rs.URL)
	expectStatus(t, brs.do("POST", "/users/signup/", `{"email": "ready@example.com", "password": "testpass123", "password2": "testpass123"}`), 201)
	tok := newClient(t, bad.auth.URL).do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, "Authorization", basicAuth("cc-id", "cc-secret"))
	expectStatus(t, tok, 200)
	expectStatus(t, brs.do("GET", "/items/", nil, "Authorization", "Bearer "+fmt.Sprint(tok.JSON(t)["access_token"])), 503)
	r := brs.do("GET", "/readyz", nil)
	expectStatus(t, r, 503)
	status, checks, warnings := readiness(t, r)
	if status != "unavailable" || checks["introspection"] != "unavailable" || len(warnings) != 1 || !strings.Contains(warnings[0], "rejects this server's credentials") {
		t.Fatalf("readyz with a wrong secret: %s", r.Body)
	}
	if out := bad.rs.out.String(); !strings.Contains(out, `"level":"ERROR","msg":"introspection endpoint rejects this verifier's credentials`) || strings.Contains(out, "wrong-secret") {
		t.Fatalf("resource server log:\n%s", out)
	}

	good.auth.stop(t)
	r = rs.do("GET", "/readyz", nil)
	expectStatus(t, r, 200)
	if _, checks, warnings := readiness(t, r); checks["introspection"] != "unknown" || len(warnings) != 1 {
		t.Fatalf("readyz with the auth server down: %s", r.Body)
	}
}
