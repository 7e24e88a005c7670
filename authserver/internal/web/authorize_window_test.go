package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/lifecycle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
)

// hookedCodes is the site's code store, with a hook run once just before
// the next code is written: what another request does in that moment.
type hookedCodes struct {
	oauth.CodeStore
	mu     sync.Mutex
	before func()
}

func (h *hookedCodes) IssueCode(ctx context.Context, c grant.Code) (string, error) {
	h.mu.Lock()
	f := h.before
	h.before = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return h.CodeStore.IssueCode(ctx, c)
}

// beforeNextCode sets the hook.
func (h *hookedCodes) beforeNextCode(f func()) {
	h.mu.Lock()
	h.before = f
	h.mu.Unlock()
}

// TestAuthorizeRefusesAUserRevokedDuringTheApproval: an admin deactivates
// the user, or resets their password, after the authorization endpoint
// checked the user and before it wrote the code. The code may be issued,
// but it must give no token: the generation the code carries was read
// before the user's check, so the revocation's epoch is above it.
func TestAuthorizeRefusesAUserRevokedDuringTheApproval(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		b := s.browser(t)
		b.login("user1@email.com")
		cb := s.cb.URL + "/callback"
		_, secret := b.register("window", "window-app", "confidential", "authorization-code", cb)
		life := lifecycle.New(s.tokens, s.reg)
		for _, tc := range []struct {
			name   string
			revoke func() error
			undo   func() error
		}{
			{"deactivation", func() error {
				if err := s.svc.Store().UpdateUser(ctx, s.user.ID, s.user.Email, false, false); err != nil {
					return err
				}
				return life.UserDeactivated(ctx, s.user.ID)
			}, func() error { return s.svc.Store().UpdateUser(ctx, s.user.ID, s.user.Email, false, true) }},
			{"password reset", func() error {
				// As the admin's form does: the new password, then the tokens.
				if err := s.svc.AdminSetPassword(ctx, s.user, "An0ther-Secret-9", "An0ther-Secret-9"); err != nil {
					return err
				}
				return life.PasswordReset(ctx, s.user.ID)
			}, func() error { return s.svc.AdminSetPassword(ctx, s.user, pw, pw) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				verifier := strings.Repeat("w", 50)
				q := url.Values{"response_type": {"code"}, "client_id": {"window-app"}, "redirect_uri": {cb}, "scope": {"read"},
					"code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
				revoked := false
				s.codes.beforeNextCode(func() {
					if err := tc.revoke(); err != nil {
						t.Error(err)
					}
					revoked = true
				})
				code := codeFor(t, b, q, "read")
				if !revoked {
					t.Fatal("the hook did not run")
				}
				tok := exchange(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}, "code_verifier": {verifier}}, "window-app", secret)
				if tok["error"] != "invalid_grant" {
					t.Fatalf("code approved while the user was revoked gave %v, want invalid_grant", tok)
				}
				// The user is signed out now: the next approval goes to login.
				p := b.do("GET", "/o/authorize/?"+q.Encode(), nil)
				if tc.name == "deactivation" && (p.status != http.StatusFound || !strings.HasPrefix(p.h.Get("Location"), "/login/")) {
					t.Fatalf("after deactivation: %d %s", p.status, p.h.Get("Location"))
				}
				if err := tc.undo(); err != nil {
					t.Fatal(err)
				}
				b.login("user1@email.com")
			})
		}
	})
}
