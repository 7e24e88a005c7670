package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuthorizeIsNoOpenRedirector is issue 12's defect 3: anyone can sign
// up and register an application whose redirect URI is their own site, so
// before the user has authenticated, an error about such a client is shown
// on a page instead of redirecting there (RFC 9700 §4.11.2). An
// unsupported response_type (implicit's "token") is never redirected.
func TestAuthorizeIsNoOpenRedirector(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		evil := s.cb.URL + "/land"
		owner := s.browser(t)
		owner.login(s.user.Email)
		if p, _ := owner.register("lure", "lure-app", "confidential", "authorization-code", evil); p.status != http.StatusOK { // the detail page the registration redirects to
			t.Fatalf("register: %d", p.status)
		}
		ask := func(b *browser, set func(url.Values)) page {
			q := url.Values{"client_id": {"lure-app"}, "redirect_uri": {evil}, "response_type": {"code"}, "scope": {"read"}, "state": {"s"}}
			set(q)
			return b.do("GET", "/o/authorize/?"+q.Encode(), nil)
		}
		implicit := func(q url.Values) { q.Set("response_type", "token") }
		badScope := func(q url.Values) { q.Set("scope", "nope") }
		isPage := func(name string, p page) {
			t.Helper()
			if p.status != http.StatusBadRequest || p.h.Get("Location") != "" || !strings.HasPrefix(p.h.Get("Content-Type"), "text/html") ||
				!strings.Contains(p.body, "Authorization error") {
				t.Fatalf("%s: %d Location=%q", name, p.status, p.h.Get("Location"))
			}
		}
		anon := s.browser(t)
		isPage("anonymous, response_type=token", ask(anon, implicit))
		isPage("anonymous, invalid scope", ask(anon, badScope))
		// A signed-in user still gets no implicit redirect, but the code
		// flow's errors go to the client, as RFC 6749 §4.1.2.1 asks.
		victim := s.browser(t)
		victim.login(s.staff.Email)
		isPage("signed in, response_type=token", ask(victim, implicit))
		if p := ask(victim, badScope); p.status != http.StatusFound || !strings.HasPrefix(p.h.Get("Location"), evil+"?error=invalid_scope") {
			t.Fatalf("signed in, invalid scope: %d %q", p.status, p.h.Get("Location"))
		}
		// A client an administrator vetted (skip_authorization) gets its
		// errors before login too.
		cl, err := s.reg.Store().ByClientID(ctx, "lure-app")
		if err != nil {
			t.Fatal(err)
		}
		cl.SkipAuthorization = true
		if err := s.reg.Store().Update(ctx, &cl); err != nil {
			t.Fatal(err)
		}
		s.reg.Forget("lure-app")
		if p := ask(anon, badScope); p.status != http.StatusFound || !strings.HasPrefix(p.h.Get("Location"), evil+"?error=invalid_scope") {
			t.Fatalf("trusted client, anonymous, invalid scope: %d %q", p.status, p.h.Get("Location"))
		}
	})
}
