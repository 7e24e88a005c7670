package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// concrete fills a Gin route pattern's parameters.
func concrete(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			segs[i] = "1"
		}
	}
	return strings.Join(segs, "/")
}

func toggled(p string) string {
	if strings.HasSuffix(p, "/") {
		return strings.TrimSuffix(p, "/")
	}
	return p + "/"
}

// TestHTTPBasics is issue 12's defect 6, over every route the engine has:
// HEAD answers wherever GET does, with GET's status and headers and no
// body (RFC 9110 §9.3.2); every path answers the same with and without its
// trailing slash, without a redirect; a browser path that is not found
// gets the HTML 404 page, an API path JSON.
func TestHTTPBasics(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		admin := s.browser(t)
		admin.login(s.staff.Email)
		routes := s.engine.Routes()
		if len(routes) < 30 {
			t.Fatalf("only %d routes", len(routes))
		}
		for _, r := range routes {
			path := concrete(r.Path)
			want := admin.do(r.Method, path, nil)
			if want.status == http.StatusNotFound && !strings.Contains(r.Path, ":") {
				t.Errorf("%s %s: 404", r.Method, path)
			}
			if got := admin.do(r.Method, toggled(path), nil); got.status != want.status || got.h.Get("Location") != want.h.Get("Location") {
				t.Errorf("%s %s: %d %q, but %s: %d %q", r.Method, path, want.status, want.h.Get("Location"),
					toggled(path), got.status, got.h.Get("Location"))
			}
			if r.Method != http.MethodGet {
				continue
			}
			for _, p := range []string{path, toggled(path)} {
				head := admin.do(http.MethodHead, p, nil)
				if head.status != want.status || head.body != "" || head.h.Get("Content-Type") != want.h.Get("Content-Type") {
					t.Errorf("HEAD %s: %d %q (%d bytes), GET: %d %q", p, head.status, head.h.Get("Content-Type"), len(head.body),
						want.status, want.h.Get("Content-Type"))
				}
			}
		}
		// The paths the issue names, signed in and not.
		anon := s.browser(t)
		for _, p := range []string{"/login", "/admin", "/o/authorize", "/o/applications", "/healthz/", "/readyz/", "/metrics/"} {
			for _, b := range []*browser{admin, anon} {
				if got := b.do(http.MethodGet, p, nil); got.status == http.StatusNotFound || got.status == http.StatusMethodNotAllowed {
					t.Errorf("GET %s: %d", p, got.status)
				}
				if got := b.do(http.MethodHead, p, nil); got.status == http.StatusNotFound || got.status == http.StatusMethodNotAllowed {
					t.Errorf("HEAD %s: %d", p, got.status)
				}
			}
		}
		for _, tt := range []struct{ path, ctype string }{
			{"/nowhere", "text/html"},
			{"/o/applications/1/nowhere/", "text/html"},
			{"/admin/nowhere", "text/html"},
			{"/users/nowhere/", "application/json"},
			{"/o/token/nowhere", "application/json"},
			{"/.well-known/nowhere", "application/json"},
		} {
			p := anon.do(http.MethodGet, tt.path, nil)
			if p.status != http.StatusNotFound || !strings.HasPrefix(p.h.Get("Content-Type"), tt.ctype) {
				t.Errorf("GET %s: %d %q", tt.path, p.status, p.h.Get("Content-Type"))
			}
			if tt.ctype == "text/html" && (!strings.Contains(p.body, "/static/portcullis.css") || p.h.Get("Content-Security-Policy") == "") {
				t.Errorf("GET %s: not the styled page with its CSP", tt.path)
			}
		}
	})
}
