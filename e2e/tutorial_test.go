package e2e

import (
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// TestTutorialFlow replays the tutorial's requests as Postman sends them:
// signup, token with rs-id/rs-secret, refresh, password change, introspect,
// revoke, checking DOT's wire shapes.
func TestTutorialFlow(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		auth := startAuth(t, b, nil)
		c := newClient(t, auth.URL)
		rs := basicAuth("rs-id", "rs-secret")

		// 1. signup
		r := c.do("POST", "/users/signup/", `{"email": "user1@email.com", "password": "testpass123", "password2": "testpass123"}`)
		expectStatus(t, r, 201)
		if string(r.Body) != `{"email":"user1@email.com"}` {
			t.Fatalf("signup body = %s", r.Body)
		}

		// 2. token (the tutorial's Postman request: form body, Basic client auth)
		r = c.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"user1@email.com"}, "password": {"testpass123"}}, "Authorization", rs)
		expectStatus(t, r, 200)
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
			t.Fatalf("token response headers: %v", r.Header)
		}
		keys := jsonKeys(t, r.Body)
		if strings.Join(keys, ",") != "access_token,expires_in,token_type,scope,refresh_token" {
			t.Fatalf("token response keys in order = %v", keys)
		}
		tok := r.JSON(t)
		if tok["scope"] != "read write introspection" || tok["token_type"] != "Bearer" {
			t.Fatalf("token = %v", tok)
		}
		at, rt := tok["access_token"].(string), tok["refresh_token"].(string)

		// 3. refresh (narrowing the scope), and the old pair is dead
		r = c.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"read write"}}, "Authorization", rs)
		expectStatus(t, r, 200)
		tok2 := r.JSON(t)
		if tok2["scope"] != "read write" {
			t.Fatalf("narrowed scope = %v", tok2["scope"])
		}
		at2, rt2 := tok2["access_token"].(string), tok2["refresh_token"].(string)
		r = c.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}, "scope": {"read write introspection admin"}}, "Authorization", rs)
		expectStatus(t, r, 400)
		if e := r.JSON(t)["error"]; e != "invalid_scope" {
			t.Fatalf("widening: error = %v", e)
		}

		// A second token for the same user, to see the password change revoke it.
		r = c.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"user1@email.com"}, "password": {"testpass123"}}, "Authorization", rs)
		expectStatus(t, r, 200)
		other := r.JSON(t)["access_token"].(string)

		// 4. change the password with the refreshed token
		r = c.do("PUT", "/users/password/", `{"old_password": "wrong-one", "password": "n3w-Passw0rd!", "password2": "n3w-Passw0rd!"}`, "Authorization", "Bearer "+at2)
		expectStatus(t, r, 400)
		r = c.do("PUT", "/users/password/", `{"old_password": "testpass123", "password": "n3w-Passw0rd!", "password2": "n3w-Passw0rd!"}`, "Authorization", "Bearer "+at2)
		expectStatus(t, r, 200)
		if string(r.Body) != `{}` {
			t.Fatalf("password change body = %s", r.Body)
		}

		// 5. introspect: the token used stays valid, the other is revoked
		introspect := func(token string) map[string]any {
			r := c.do("POST", "/o/introspect/", url.Values{"token": {token}}, "Authorization", rs)
			expectStatus(t, r, 200)
			return r.JSON(t)
		}
		got := introspect(at2)
		if got["active"] != true || got["username"] != "user1@email.com" || got["client_id"] != "rs-id" || got["scope"] != "read write" {
			t.Fatalf("introspect = %v", got)
		}
		for name, tokn := range map[string]string{"other token": other, "rotated-away token": at, "garbage": "nope"} {
			if r := c.do("POST", "/o/introspect/", url.Values{"token": {tokn}}, "Authorization", rs); string(r.Body) != `{"active":false}` {
				t.Fatalf("%s: introspect = %s", name, r.Body)
			}
		}
		// The old password no longer works; the new one does.
		r = c.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"user1@email.com"}, "password": {"testpass123"}}, "Authorization", rs)
		expectStatus(t, r, 400)
		r = c.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"user1@email.com"}, "password": {"n3w-Passw0rd!"}}, "Authorization", rs)
		expectStatus(t, r, 200)

		// 6. revoke: 200 with an empty body, then inactive; a foreign client cannot revoke it.
		r = c.do("POST", "/o/revoke_token/", url.Values{"token": {at2}}, "Authorization", basicAuth("cc-id", "cc-secret"))
		expectStatus(t, r, 200)
		if introspect(at2)["active"] != true {
			t.Fatal("another client revoked rs-id's token")
		}
		r = c.do("POST", "/o/revoke_token/", url.Values{"token": {at2}, "token_type_hint": {"access_token"}}, "Authorization", rs)
		expectStatus(t, r, 200)
		if len(r.Body) != 0 {
			t.Fatalf("revoke body = %q", r.Body)
		}
		if introspect(at2)["active"] != false {
			t.Fatal("revoked token still active")
		}
		// Revoking the refresh token kills the family, and refreshing it fails cleanly (DOT 500s here).
		r = c.do("POST", "/o/revoke_token/", url.Values{"token": {rt2}}, "Authorization", rs)
		expectStatus(t, r, 200)
		r = c.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}, "Authorization", rs)
		expectStatus(t, r, 400)
		if string(r.Body) != `{"error":"invalid_grant"}` {
			t.Fatalf("refresh after revoke = %s", r.Body)
		}
	})
}

// jsonKeys returns the top-level keys of a JSON object, in order.
func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestConcurrentRefreshOneWinner presents one refresh token from many
// goroutines at once: exactly one gets new tokens.
func TestConcurrentRefreshOneWinner(t *testing.T) {
	b := realBackend(t)
	auth := startAuth(t, b, nil)
	c := newClient(t, auth.URL)
	signup(t, c, "race@example.com", "correct horse battery")
	rs := basicAuth("rs-id", "rs-secret")
	r := c.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"race@example.com"}, "password": {"correct horse battery"}}, "Authorization", rs)
	expectStatus(t, r, 200)
	rt := r.JSON(t)["refresh_token"].(string)

	const n = 32
	var wg sync.WaitGroup
	statuses := make([]int, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			statuses[i] = c.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "Authorization", rs).Status
		}(i)
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 400:
		default:
			t.Fatalf("unexpected status %d in %v", s, statuses)
		}
	}
	if ok != 1 {
		t.Fatalf("%d requests got new tokens, want exactly 1 (%v)", ok, statuses)
	}
}
