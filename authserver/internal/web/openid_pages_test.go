package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

// TestApplicationFormOpenIDFields: the owner's form sets the id token
// algorithm and the post logout redirect URIs, and refuses bad ones.
func TestApplicationFormOpenIDFields(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		b := s.browser(t)
		b.login("user1@email.com")
		submit := func(clientID, grant, alg, postLogout string) page {
			form := b.do("GET", "/o/applications/register/", nil)
			secret := regexp.MustCompile(`id="id_client_secret" value="([^"]+)"`).FindStringSubmatch(form.body)
			mark := regexp.MustCompile(`name="secret_mark" value="([^"]+)"`).FindStringSubmatch(form.body)
			return b.do("POST", "/o/applications/register/", url.Values{"csrfmiddlewaretoken": {csrfOf(t, form)}, "name": {clientID},
				"client_id": {clientID}, "client_secret": {secret[1]}, "secret_mark": {mark[1]}, "client_type": {"confidential"},
				"grant_types": {grant}, "redirect_uris": {"https://rp.example/cb"}, "algorithm": {alg},
				"post_logout_redirect_uris": {postLogout}})
		}
		if p := b.do("GET", "/o/applications/register/", nil); !strings.Contains(p.body, `value="ES256"`) || !strings.Contains(p.body, `id="id_post_logout_redirect_uris"`) {
			t.Fatalf("register form lacks the OpenID fields: %s", p.body)
		}
		p := submit("es-app", clients.GrantAuthorizationCode, "ES256", "https://rp.example/bye\nhttps://rp.example/bye2")
		if p.status != http.StatusSeeOther {
			t.Fatalf("register: %d %s", p.status, p.body)
		}
		c, err := s.reg.Store().ByClientID(context.Background(), "es-app")
		if err != nil || c.Algorithm != "ES256" || c.PostLogoutRedirectURIsRaw != "https://rp.example/bye https://rp.example/bye2" {
			t.Fatalf("stored %+v, %v", c, err)
		}
		detail := b.do("GET", "/o/applications/"+itoa(c.ID)+"/", nil)
		if !strings.Contains(detail.body, `<dd id="algorithm">ES256</dd>`) || !strings.Contains(detail.body, "https://rp.example/bye2") {
			t.Fatalf("detail page: %s", detail.body)
		}
		for _, tt := range []struct{ name, alg, postLogout, msg string }{
			{"HS256", "HS256", "", "Select a valid algorithm."},
			{"javascript post logout", "RS256", "javascript:alert(1)", "Post logout redirect URIs must be absolute"},
			{"fragment post logout", "RS256", "https://rp.example/#x", "Post logout redirect URIs must be absolute"},
		} {
			if p := submit("bad-"+strings.ReplaceAll(tt.name, " ", "-"), clients.GrantAuthorizationCode, tt.alg, tt.postLogout); p.status != http.StatusBadRequest || !strings.Contains(p.body, tt.msg) {
				t.Errorf("%s: %d, want the form again with %q", tt.name, p.status, tt.msg)
			}
		}
		// The device grant is a choice too.
		if p := submit("tv-app", clients.GrantDeviceCode, "RS256", ""); p.status != http.StatusSeeOther {
			t.Fatalf("device-code application: %d %s", p.status, p.body)
		}
		if c, err := s.reg.Store().ByClientID(context.Background(), "tv-app"); err != nil || !c.AllowsGrant(clients.GrantDeviceCode) {
			t.Fatalf("device-code application stored as %+v, %v", c, err)
		}
	})
}
