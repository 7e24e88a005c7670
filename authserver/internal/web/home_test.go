package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestHomePage: / is a landing page (it was a 404) with links to the
// browser pages and the discovery document, under the same strict CSP as
// every page and with no inline script or style.
func TestHomePage(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		b := s.browser(t)
		p := b.do("GET", "/", nil)
		if p.status != http.StatusOK || !strings.HasPrefix(p.h.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /: %d %s", p.status, p.h.Get("Content-Type"))
		}
		if c := p.h.Get("Content-Security-Policy"); !strings.Contains(c, "default-src 'none'") || strings.Contains(c, "unsafe") {
			t.Errorf("CSP = %q", c)
		}
		for _, href := range []string{"/login/", "/o/applications/", "/o/authorized_tokens/", "/admin/", "/.well-known/oauth-authorization-server"} {
			if !strings.Contains(p.body, `href="`+href+`"`) {
				t.Errorf("the home page has no link to %s:\n%s", href, p.body)
			}
		}
		for _, inline := range []string{"<script", "<style", " style=", "onclick", "javascript:"} {
			if strings.Contains(strings.ToLower(p.body), inline) {
				t.Errorf("the home page has inline %q", inline)
			}
		}
		b.login("user1@email.com")
		if p := b.do("GET", "/", nil); !strings.Contains(p.body, "you are user1@email.com") {
			t.Errorf("signed in, the home page does not say who:\n%s", p.body)
		}
	})
}
