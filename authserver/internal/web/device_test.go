package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDeviceCookieLetsTheOwnerIn is issue 12's defect 2: strangers' failed
// guesses lock an account for everyone who has no device cookie for it,
// but the owner's browser, which signed in before, has its own counter and
// still gets in after an attacker's 50 failures.
func TestDeviceCookieLetsTheOwnerIn(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		owner := s.browser(t)
		owner.xff = "192.0.2.10"
		p := owner.login(s.user.Email)
		if p.status != http.StatusSeeOther {
			t.Fatalf("first login: %d", p.status)
		}
		var dc *http.Cookie
		for _, c := range (&http.Response{Header: p.h}).Cookies() {
			if c.Name == "pc_device" {
				dc = c
			}
		}
		if dc == nil || !dc.HttpOnly || dc.SameSite != http.SameSiteStrictMode || dc.Path != "/login" || dc.MaxAge <= 0 ||
			strings.Contains(strings.ToLower(dc.Value), "user1") {
			t.Fatalf("device cookie %+v", dc)
		}
		owner.post("/o/applications/", "/logout/", url.Values{})

		// The attacker: 50 failures from 50 addresses, and a device cookie
		// of an account of their own, which proves nothing for this one.
		attacker := s.browser(t)
		attacker.xff = "198.51.100.1"
		if p := attacker.login(s.staff.Email); p.status != http.StatusSeeOther {
			t.Fatalf("attacker's own login: %d", p.status)
		}
		attacker.post("/o/applications/", "/logout/", url.Values{})
		refused := 0
		for i := range 50 {
			attacker.xff = "198.51.100." + itoa(int64(i+2))
			switch p := attacker.loginWith(s.user.Email, "guess-"+itoa(int64(i))); p.status {
			case http.StatusTooManyRequests:
				refused++
			case http.StatusOK:
			default:
				t.Fatalf("guess %d: %d", i, p.status)
			}
		}
		if refused != 50-throttleLimit {
			t.Fatalf("%d of 50 guesses refused, want all past the limit of %d", refused, throttleLimit)
		}
		// A browser with no device cookie is locked out, right password or not.
		fresh := s.browser(t)
		fresh.xff = "192.0.2.10"
		if p := fresh.login(s.user.Email); p.status != http.StatusTooManyRequests {
			t.Fatalf("fresh browser during the lockout: %d", p.status)
		}
		// The owner's browser gets in, in any spelling of the email, from
		// any address.
		owner.xff = "203.0.113.7"
		if p := owner.login(strings.ToUpper(s.user.Email)); p.status != http.StatusSeeOther {
			t.Fatalf("owner with a device cookie: %d", p.status)
		}
		owner.post("/o/applications/", "/logout/", url.Values{})
		// Its own failures count on its own counter, and stop only it.
		for i := range throttleLimit {
			if p := owner.loginWith(s.user.Email, "typo-"+itoa(int64(i))); p.status != http.StatusOK {
				t.Fatalf("owner's typo %d: %d", i, p.status)
			}
		}
		if p := owner.login(s.user.Email); p.status != http.StatusTooManyRequests {
			t.Fatalf("owner past its own limit: %d", p.status)
		}
		// A forged entry is no device cookie.
		forger := s.browser(t)
		u, _ := url.Parse(s.srv.URL)
		forged := strings.Repeat("A", 22) + "." + strings.Repeat("B", 43)
		forger.c.Jar.SetCookies(u, []*http.Cookie{{Name: "pc_device", Value: forged, Path: "/login"}})
		if p := forger.login(s.user.Email); p.status != http.StatusTooManyRequests {
			t.Fatalf("forged device cookie: %d", p.status)
		}
	})
}
