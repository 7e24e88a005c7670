package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/authserver/internal/web"
)

// syncBuffer is a log sink the server's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var linkRE = regexp.MustCompile(`https://auth\.example(/password_reset/confirm/\?token=[A-Za-z0-9_%-]+)`)

// resetLink asks for a reset of email and returns the path of the link
// that arrives by SMTP.
func (s *site) resetLink(t *testing.T, b *browser, email string) string {
	t.Helper()
	p := b.submit("/password_reset/", "/password_reset/", url.Values{"email": {email}})
	if p.status != http.StatusSeeOther || p.h.Get("Location") != "/password_reset/done/" {
		t.Fatalf("reset request: %d %s", p.status, p.h.Get("Location"))
	}
	m := s.mail.Next(t, 10*time.Second)
	body, _ := io.ReadAll(m.Msg.Body)
	if len(m.To) != 1 || m.To[0] != email || !m.TLS || m.User != "mailer" {
		t.Fatalf("envelope to %v, tls %v, user %q", m.To, m.TLS, m.User)
	}
	got := linkRE.FindStringSubmatch(string(body))
	if got == nil {
		t.Fatalf("no link in %q", body)
	}
	return got[1]
}

func TestPasswordResetByEmail(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		live, err := s.tokens.Issue(ctx, tokens.Grant{ClientID: "c", UserID: s.user.ID, Username: s.user.Email, Scope: "read"}, true)
		if err != nil {
			t.Fatal(err)
		}
		signedIn := s.browser(t)
		signedIn.login("user1@email.com")
		b := s.browser(t)
		if p := b.do("GET", "/login/", nil); !strings.Contains(p.body, `href="/password_reset/"`) {
			t.Fatal("no link to the reset from the login page")
		}
		// The same answer whether or not the address is known; no mail
		// for an unknown one.
		unknown := b.submit("/password_reset/", "/password_reset/", url.Values{"email": {"ghost@email.com"}})
		link := s.resetLink(t, b, "user1@email.com")
		if unknown.status != http.StatusSeeOther || unknown.h.Get("Location") != "/password_reset/done/" {
			t.Fatalf("unknown address: %d %s", unknown.status, unknown.h.Get("Location"))
		}
		select {
		case m := <-s.mail.Box:
			t.Fatalf("a second mail arrived (to %v)", m.To)
		default:
		}
		tok, _ := url.QueryUnescape(strings.TrimPrefix(link, "/password_reset/confirm/?token="))
		// Set the new password: a weak one first, then a good one.
		page := b.do("GET", link, nil)
		if page.status != 200 || !strings.Contains(page.body, `name="new_password1"`) {
			t.Fatalf("confirm page: %d", page.status)
		}
		checkPage(t, "reset confirm", page)
		f := formFields(t, page, "/password_reset/confirm/")
		f.Set("new_password1", "abc")
		f.Set("new_password2", "abd")
		if p := b.do("POST", "/password_reset/confirm/", f); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="id_new_password2_error"`) {
			t.Fatalf("weak password: %d", p.status)
		}
		newPW := pw + "-reset"
		f.Set("new_password1", newPW)
		f.Set("new_password2", newPW)
		if p := b.do("POST", "/password_reset/confirm/", f); p.status != http.StatusSeeOther || p.h.Get("Location") != "/password_reset/complete/" {
			t.Fatalf("reset: %d %s", p.status, p.body)
		}
		// Single use.
		if p := b.do("POST", "/password_reset/confirm/", f); p.status != http.StatusBadRequest || !strings.Contains(p.body, "invalid") {
			t.Fatalf("second use: %d", p.status)
		}
		if p := b.do("GET", link, nil); p.status != http.StatusBadRequest {
			t.Fatalf("second visit: %d", p.status)
		}
		// The new password works; the old tokens and sessions are over.
		if p := s.browser(t).loginWith("user1@email.com", newPW); p.status != http.StatusSeeOther {
			t.Fatalf("login with the new password: %d", p.status)
		}
		if _, err := s.tokens.LookupRefresh(ctx, live.RefreshToken); err == nil {
			t.Fatal("a refresh token survived the reset")
		}
		if p := signedIn.do("GET", "/o/applications/", nil); p.status != http.StatusFound {
			t.Fatalf("a session survived the reset: %d", p.status)
		}
		// A link dies when the password changes another way.
		link2 := s.resetLink(t, b, "user1@email.com")
		if err := s.svc.AdminSetPassword(ctx, s.user, pw+"-other", pw+"-other"); err != nil {
			t.Fatal(err)
		}
		if p := b.do("GET", link2, nil); p.status != http.StatusBadRequest {
			t.Fatalf("a link outlived a password change: %d", p.status)
		}
		// Bad tokens: a page, never a 500.
		for _, bad := range []string{"", "x", "pcpr_" + strings.Repeat("A", 43), "%00%ff"} {
			if p := b.do("GET", "/password_reset/confirm/?token="+bad, nil); p.status != http.StatusBadRequest {
				t.Fatalf("token %q: %d", bad, p.status)
			}
		}
		if p := b.submit("/password_reset/", "/password_reset/", url.Values{"email": {"not an address"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="id_email_error"`) {
			t.Fatalf("bad address: %d", p.status)
		}
		// No token reaches a log (the access log leaves queries out).
		if logs := s.logs.String(); strings.Contains(logs, tok) || strings.Contains(logs, tok[5:]) || !strings.Contains(logs, "password reset: e-mail sent") {
			t.Fatalf("the logs hold the token, or say nothing: %s", logs)
		}
	})
}

func TestPasswordResetThrottled(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		b := s.browser(t)
		for range 5 { // the site's limit
			if p := b.submit("/password_reset/", "/password_reset/", url.Values{"email": {"ghost@email.com"}}); p.status != http.StatusSeeOther {
				t.Fatalf("under the limit: %d", p.status)
			}
		}
		p := b.submit("/password_reset/", "/password_reset/", url.Values{"email": {"ghost@email.com"}})
		if p.status != http.StatusTooManyRequests || p.h.Get("Retry-After") == "" {
			t.Fatalf("over the limit: %d", p.status)
		}
		// Reset requests do not count against logging in.
		if p := s.browser(t).login("user1@email.com"); p.status != http.StatusSeeOther {
			t.Fatalf("login after reset requests: %d", p.status)
		}
	})
}

func TestOwnPasswordChange(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		live, _ := s.tokens.Issue(ctx, tokens.Grant{ClientID: "c", UserID: s.user.ID, Username: s.user.Email, Scope: "read"}, true)
		other := s.browser(t)
		other.login("user1@email.com")
		b := s.browser(t)
		b.login("user1@email.com")
		p := b.submit("/account/password/", "/account/password/", url.Values{"old_password": {"wrong"}, "new_password1": {"abc"}, "new_password2": {"abd"}})
		if p.status != http.StatusBadRequest {
			t.Fatalf("bad change: %d", p.status)
		}
		for _, f := range []string{"old_password", "new_password1", "new_password2"} {
			if !strings.Contains(p.body, `id="id_`+f+`_error"`) {
				t.Errorf("%s: no error beside it", f)
			}
		}
		newPW := pw + "-mine"
		p = b.submit("/account/password/", "/account/password/", url.Values{"old_password": {pw}, "new_password1": {newPW}, "new_password2": {newPW}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("change: %d %s", p.status, p.body)
		}
		// This browser stays signed in and is told; others are not.
		if p := b.follow(p); p.status != 200 || !strings.Contains(flashOf(p), "password was changed") {
			t.Fatalf("after the change: %d %q", p.status, flashOf(p))
		}
		if p := other.do("GET", "/o/applications/", nil); p.status != http.StatusFound {
			t.Fatalf("another session survived: %d", p.status)
		}
		if _, err := s.tokens.LookupRefresh(ctx, live.RefreshToken); err == nil {
			t.Fatal("a token survived the change")
		}
		if p := s.browser(t).loginWith("user1@email.com", newPW); p.status != http.StatusSeeOther {
			t.Fatalf("login with the new password: %d", p.status)
		}
		if p := s.browser(t).do("GET", "/account/password/", nil); p.status != http.StatusFound {
			t.Fatalf("anonymous: %d", p.status)
		}
	})
}

// A server without mail offers no reset, and says so.
func TestPasswordResetOffWithoutMail(t *testing.T) {
	s := newSiteWith(t, testenv.SQLiteURL(t), nil, "", func(d *web.Deps) { d.Mail = nil })
	b := s.browser(t)
	if p := b.do("GET", "/login/", nil); strings.Contains(p.body, "/password_reset/") {
		t.Fatal("the login page offers a reset that cannot be sent")
	}
	for _, path := range []string{"/password_reset/", "/password_reset/confirm/?token=x"} {
		if p := b.do("GET", path, nil); p.status != http.StatusNotFound || !strings.Contains(p.body, "not available") {
			t.Fatalf("%s: %d", path, p.status)
		}
	}
}
