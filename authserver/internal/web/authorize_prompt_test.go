package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// hookedTokens is the site's token store, with a hook run once just
// before the next revocation generation is read: what another request
// does in the moment between the page loading the session and approving.
// An error from the hook is the read's, as if Redis had failed.
type hookedTokens struct {
	oauth.TokenStore
	mu     sync.Mutex
	before func() error
}

func (h *hookedTokens) Generation(ctx context.Context) (int64, error) {
	h.mu.Lock()
	f := h.before
	h.before = nil
	h.mu.Unlock()
	if f != nil {
		if err := f(); err != nil {
			return 0, err
		}
	}
	return h.TokenStore.Generation(ctx)
}

// beforeNextGeneration sets the hook.
func (h *hookedTokens) beforeNextGeneration(f func() error) {
	h.mu.Lock()
	h.before = f
	h.mu.Unlock()
}

// TestPromptNoneNeverShowsAPage: an authorization request with prompt=none
// (OpenID Connect Core §3.1.2.1) is answered at the client's redirect URI,
// with the request's state, in every situation that would otherwise show
// the login or the consent page: login_required when someone must sign
// in, consent_required when the user must consent, a code when neither.
// This server has no other page on the way to a code (no account chooser,
// no required action such as a password change or an email check, no
// interstitial), so interaction_required is never the answer.
func TestPromptNoneNeverShowsAPage(t *testing.T) {
	forEachOpts(t, siteOptions{openID: true}, func(t *testing.T, s *site) {
		ctx := context.Background()
		b := s.browser(t)
		b.login("user1@email.com")
		cb := s.cb.URL + "/callback"
		if p, _ := b.register("rp", "rp", "confidential", "authorization-code", cb); p.status != http.StatusOK {
			t.Fatalf("register: %d", p.status)
		}
		base := url.Values{"response_type": {"code"}, "client_id": {"rp"}, "redirect_uri": {cb}, "scope": {"openid read"}, "state": {"st"}}
		// silent sends the request with prompt=none (unless extra sets
		// prompt) and returns the query of the redirect to the client;
		// anything else (a page, the login page) fails the test.
		silent := func(t *testing.T, b *browser, extra url.Values) url.Values {
			t.Helper()
			q := url.Values{"prompt": {"none"}}
			for k, v := range base {
				q[k] = v
			}
			for k, v := range extra {
				q[k] = v
			}
			p := b.do("GET", "/o/authorize/?"+q.Encode(), nil)
			loc := p.h.Get("Location")
			if p.status != http.StatusFound || !strings.HasPrefix(loc, cb+"?") {
				t.Fatalf("%v: %d Location %q, want a redirect to the client\n%s", extra, p.status, loc, p.body)
			}
			u, _ := url.Parse(loc)
			a := u.Query()
			if a.Get("state") != "st" {
				t.Fatalf("%v: answer %v lacks the state", extra, a)
			}
			return a
		}
		want := func(t *testing.T, b *browser, extra url.Values, code string) {
			t.Helper()
			a := silent(t, b, extra)
			switch {
			case code == "code" && (a.Get("code") == "" || a.Get("error") != ""):
				t.Fatalf("%v: %v, want a code", extra, a)
			case code != "code" && (a.Get("error") != code || a.Get("code") != ""):
				t.Fatalf("%v: %v, want error=%s", extra, a, code)
			}
		}
		hint := func(userID int64) string {
			h, err := s.ids.IDToken(ctx, oidc.Token{ClientID: "rp", Alg: "RS256", Auth: oidc.Authentication{UserID: userID, AuthTime: time.Now()}})
			if err != nil {
				t.Fatal(err)
			}
			return h
		}

		// Nobody signed in: login_required.
		want(t, s.browser(t), nil, oauth.CodeLoginRequired)
		// Signed in, no consent yet: consent_required, and after consent a
		// code, silently.
		want(t, b, nil, oauth.CodeConsentRequired)
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		codeFor(t, b, q, "openid read")
		want(t, b, nil, "code")
		// prompt=consent asks even so, and cannot be combined with none.
		for _, p := range []string{"none consent", "none login", "login none"} {
			want(t, b, url.Values{"prompt": {p}}, oauth.CodeInvalidRequest)
		}

		// id_token_hint (Core §3.1.2.1): the signed-in user's passes; another
		// user's SHOULD give login_required, since that user must sign in.
		want(t, b, url.Values{"id_token_hint": {hint(s.user.ID)}}, "code")
		want(t, b, url.Values{"id_token_hint": {hint(s.staff.ID)}}, oauth.CodeLoginRequired)
		// login_hint names the identifier to sign in with "if necessary";
		// with a session no sign-in is, and there is no other session to
		// select (one per browser): the session's user gets the code, as
		// without prompt=none, where no page is shown either.
		want(t, b, url.Values{"login_hint": {"admin@email.com"}}, "code")
		if p := b.do("GET", "/o/authorize/?"+q.Encode()+"&login_hint=admin%40email.com", nil); p.status != http.StatusFound || !strings.HasPrefix(p.h.Get("Location"), cb+"?") {
			t.Fatalf("login_hint of another user without prompt=none: %d %s, want no page", p.status, p.h.Get("Location"))
		}

		// max_age (Core §3.1.2.1): a sign-in too old for it needs a new one.
		want(t, b, url.Values{"max_age": {"0"}}, oauth.CodeLoginRequired)
		want(t, b, url.Values{"max_age": {"3600"}}, "code")
		servicetest.Eventually(t, 10*time.Second, "prompt=none with max_age=1 gives login_required", func() bool {
			return silent(t, b, url.Values{"max_age": {"1"}}).Get("error") == oauth.CodeLoginRequired
		})

		// The user is deactivated, or gets a new password, after the page
		// loaded the session and before the approval checks the user again:
		// the user must sign in again, which is login_required too, never
		// the login page.
		for _, tc := range []struct {
			name         string
			revoke, undo func() error
		}{
			{"deactivation",
				func() error { return s.svc.Store().UpdateUser(ctx, s.user.ID, s.user.Email, false, false) },
				func() error { return s.svc.Store().UpdateUser(ctx, s.user.ID, s.user.Email, false, true) }},
			{"password reset",
				func() error { return s.svc.AdminSetPassword(ctx, s.user, "An0ther-Secret-9", "An0ther-Secret-9") },
				func() error { return s.svc.AdminSetPassword(ctx, s.user, pw, pw) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Cleanup(func() {
					s.gens.beforeNextGeneration(nil)
					_ = tc.undo()
				})
				// Without prompt=none the same moment leads to the login page.
				for _, interactive := range []bool{false, true} {
					fresh := s.browser(t)
					fresh.login("user1@email.com")
					revoked := false
					s.gens.beforeNextGeneration(func() error {
						if err := tc.revoke(); err != nil {
							t.Error(err)
						}
						revoked = true
						return nil
					})
					if !interactive {
						want(t, fresh, nil, oauth.CodeLoginRequired)
					} else if p := fresh.do("GET", "/o/authorize/?"+q.Encode(), nil); p.status != http.StatusFound || !strings.HasPrefix(p.h.Get("Location"), "/login/") {
						t.Fatalf("without prompt=none: %d %s, want the login page", p.status, p.h.Get("Location"))
					}
					if !revoked {
						t.Fatal("the hook did not run")
					}
					if err := tc.undo(); err != nil {
						t.Fatal(err)
					}
				}
			})
		}

		// A store that fails after the user is known: a person gets the 503
		// page, a silent request temporarily_unavailable at the redirect URI
		// (RFC 6749 §4.1.2.1), with its state.
		// (The password reset above signed b out.)
		b = s.browser(t)
		b.login("user1@email.com")
		outage := func() error { return errors.New("redis: connection refused") }
		s.gens.beforeNextGeneration(outage)
		want(t, b, nil, oauth.CodeTemporarilyUnavail)
		s.gens.beforeNextGeneration(outage)
		if p := b.do("GET", "/o/authorize/?"+q.Encode(), nil); p.status != http.StatusServiceUnavailable {
			t.Fatalf("outage without prompt=none: %d %s, want the 503 page", p.status, p.h.Get("Location"))
		}
	})
}
