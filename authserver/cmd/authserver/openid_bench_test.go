package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

var csrfInput = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

// BenchmarkCodeExchange is the authorization code exchange against the
// real binary (PostgreSQL and Redis when set), with and without the openid
// scope in the same run: the difference is about one signature (see
// BenchmarkSign in internal/signing). Only the POST /o/token/ is timed; the
// authorization request that makes each code is not.
func BenchmarkCodeExchange(b *testing.B) {
	s := newStack(b, false)
	base := s.start("authserver-bench", false)
	cb := "https://rp.example/cb"
	s.cli("createclient", "--name", "bench", "--client-id", "bench", "--client-secret", "bench-secret", "--grant-types", "authorization_code",
		"--redirect-uris", cb, "--skip-authorization")
	s.cli("createclient", "--name", "bench-es", "--client-id", "bench-es", "--client-secret", "bench-secret", "--grant-types", "authorization_code",
		"--redirect-uris", cb, "--skip-authorization", "--algorithm", "ES256")
	s.signup(base, "bench@example.com", "Str0ng-pass-w0rd")

	// A browser-like client with a session.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login/")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		b.Fatal("no CSRF token on the login page")
	}
	resp, err = c.PostForm(base+"/login/", url.Values{"csrfmiddlewaretoken": {string(m[1])}, "username": {"bench@example.com"},
		"password": {"Str0ng-pass-w0rd"}, "next": {"/o/applications/"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()

	const verifier = "dBjftJeZ4CVP-mJ0kbbHcXxwX2vG8nTVuLxfxhcfVMJMlqmjPtdr4pKZk4cNvp1C"
	challenge := oauth2.S256ChallengeFromVerifier(verifier)
	code := func(client, sc string) string {
		q := url.Values{"client_id": {client}, "redirect_uri": {cb}, "response_type": {"code"}, "scope": {sc}, "nonce": {"n"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		resp, err := c.Get(base + "/o/authorize/?" + q.Encode())
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("code") == "" {
			b.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		return loc.Query().Get("code")
	}
	for _, tt := range []struct{ name, client, scope string }{
		{"plain", "bench", "read"},
		{"openid-RS256", "bench", "openid read"},
		{"openid-ES256", "bench-es", "openid read"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				cd := code(tt.client, tt.scope)
				b.StartTimer()
				req, _ := http.NewRequest(http.MethodPost, base+"/o/token/", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
					"code": {cd}, "redirect_uri": {cb}, "code_verifier": {verifier}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(tt.client, "bench-secret")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || strings.Contains(tt.scope, "openid") != strings.Contains(string(body), `"id_token"`) {
					b.Fatalf("exchange: %d %s", resp.StatusCode, body)
				}
			}
		})
	}
}
