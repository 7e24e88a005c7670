package introspecttest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/wire"
)

func post(t *testing.T, s *Server, token string, mod func(*http.Request)) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestServer(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.Register("tok", wire.Introspection{Scope: "read", Exp: 4102444800, Username: "u"})
	s.RequireClientCredentials("rs id", "p:w")

	tests := []struct {
		name   string
		token  string
		mod    func(*http.Request)
		status int
		active any
	}{
		{"no credentials", "tok", nil, 401, nil},
		{"basic, form-encoded", "tok", func(r *http.Request) { r.SetBasicAuth("rs+id", "p%3Aw") }, 200, true},
		{"basic, wrong secret", "tok", func(r *http.Request) { r.SetBasicAuth("rs+id", "nope") }, 401, nil},
		{"unknown token", "other", func(r *http.Request) { r.SetBasicAuth("rs+id", "p%3Aw") }, 200, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, m := post(t, s, tc.token, tc.mod)
			if resp.StatusCode != tc.status || m["active"] != tc.active {
				t.Fatalf("status %d body %v", resp.StatusCode, m)
			}
		})
	}
	if s.Calls() != 4 || s.CallsFor("tok") != 3 {
		t.Errorf("calls %d, for tok %d", s.Calls(), s.CallsFor("tok"))
	}
}

func TestServerFailures(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.Register("tok", wire.Introspection{Scope: "read"})
	s.Fail(429, "3")
	resp, _ := post(t, s, "tok", nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	s.Fail(0, "")
	s.Revoke("tok")
	if _, m := post(t, s, "tok", nil); m["active"] != false {
		t.Fatalf("revoked token answered %v", m)
	}
	s.SetDelay(time.Hour)
	c := &http.Client{Timeout: 50 * time.Millisecond}
	if _, err := c.Post(s.URL, "application/x-www-form-urlencoded", strings.NewReader("token=tok")); err == nil {
		t.Fatal("slow server answered in time")
	}
}
