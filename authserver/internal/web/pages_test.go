package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/authserver/internal/web"
)

// The tests of this file are issue 15's regression tests, one per
// numbered defect, and the pages' shared promises.

// flashRE finds the messages in the live region.
var flashRE = regexp.MustCompile(`<div class="messages" role="status" aria-live="polite">(.*?)</div>`)

func flashOf(p page) string {
	m := flashRE.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// follow GETs the Location of a redirect.
func (b *browser) follow(p page) page {
	b.t.Helper()
	if p.status != http.StatusSeeOther && p.status != http.StatusFound {
		b.t.Fatalf("not a redirect: %d %s", p.status, p.body)
	}
	return b.do("GET", p.h.Get("Location"), nil)
}

func (s *site) client(t *testing.T, c clients.Client) clients.Client {
	t.Helper()
	if err := s.reg.Store().Create(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func sameSet(got []string, want ...string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// Defect 1: saving an application kept only its first grant type.
func TestAppFormKeepsEveryGrantType(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		cl := s.client(t, clients.Client{ClientID: "batch-job", Name: "batch", Type: clients.Confidential, GrantTypesRaw: "client_credentials password",
			SecretHash: clients.HashGeneratedSecret("s"), UserID: sql.NullInt64{Int64: s.user.ID, Valid: true}})
		a := s.browser(t)
		a.login("admin@email.com")
		ap := "/admin/applications/" + itoa(cl.ID) + "/"
		if p := a.submit(ap, ap, url.Values{"name": {"renamed"}}); p.status != http.StatusSeeOther {
			t.Fatalf("admin save: %d %s", p.status, p.body)
		}
		got, _ := s.reg.Store().ByClientID(ctx, "batch-job")
		if got.Name != "renamed" || !sameSet(got.GrantTypes(), "client_credentials", "password") {
			t.Fatalf("after the admin's save: %q %v", got.Name, got.GrantTypes())
		}
		u := s.browser(t)
		u.login("user1@email.com")
		up := "/o/applications/" + itoa(cl.ID) + "/update/"
		if p := u.submit(up, up, url.Values{"name": {"again"}}); p.status != http.StatusSeeOther {
			t.Fatalf("owner save: %d %s", p.status, p.body)
		}
		got, _ = s.reg.Store().ByClientID(ctx, "batch-job")
		if got.Name != "again" || !sameSet(got.GrantTypes(), "client_credentials", "password") {
			t.Fatalf("after the owner's save: %q %v", got.Name, got.GrantTypes())
		}
		// Every grant type can be added and removed.
		if p := u.submit(up, up, url.Values{"grant_types": {"password", "refresh_token"}}); p.status != http.StatusSeeOther {
			t.Fatalf("change grants: %d", p.status)
		}
		got, _ = s.reg.Store().ByClientID(ctx, "batch-job")
		if !sameSet(got.GrantTypes(), "password", "refresh_token") {
			t.Fatalf("grants %v", got.GrantTypes())
		}
		p := u.submit(up, up, url.Values{"grant_types": {}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="id_grant_types_error"`) {
			t.Fatalf("no grant type: %d", p.status)
		}
	})
}

// Defect 3: destructive admin actions ask first.
func TestDestructiveActionsAskFirst(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		a := s.browser(t)
		a.login("admin@email.com")
		g, _ := s.svc.Store().CreateGroup(ctx, "editors")
		if p := a.do("GET", "/admin/groups/", nil); strings.Contains(p.body, `method="post"`+` action="/admin/groups/`) {
			t.Fatal("the groups list deletes on one click")
		}
		gd := "/admin/groups/" + itoa(g.ID) + "/delete/"
		if p := a.do("GET", gd, nil); p.status != http.StatusOK || !strings.Contains(p.body, "editors") || !strings.Contains(p.body, `id="confirm"`) {
			t.Fatalf("group delete confirmation: %d", p.status)
		}
		if p := a.submit(gd, gd, nil); p.status != http.StatusSeeOther {
			t.Fatalf("group delete: %d", p.status)
		}
		if _, err := s.svc.Store().GroupByID(ctx, g.ID); err == nil {
			t.Fatal("group not deleted")
		}

		cl := s.client(t, clients.Client{ClientID: "doomed", Name: "doomed app", Type: clients.Confidential, GrantTypesRaw: "client_credentials", SecretHash: clients.HashGeneratedSecret("s")})
		if p := a.do("GET", "/admin/applications/", nil); strings.Contains(p.body, `method="post" action="/admin/applications/`) {
			t.Fatal("the applications list deletes on one click")
		}
		ad := "/admin/applications/" + itoa(cl.ID) + "/delete/"
		if p := a.do("GET", ad, nil); p.status != http.StatusOK || !strings.Contains(p.body, "revoked") || !strings.Contains(p.body, "doomed app") {
			t.Fatalf("app delete confirmation: %d", p.status)
		}
		if _, err := s.reg.Store().ByClientID(ctx, "doomed"); err != nil {
			t.Fatal("the confirmation page deleted")
		}

		// Unticking Active asks first, and changes nothing until confirmed.
		iss, err := s.tokens.Issue(ctx, tokens.Grant{ClientID: "c", UserID: s.user.ID, Username: s.user.Email, Scope: "read"}, true)
		if err != nil {
			t.Fatal(err)
		}
		up := "/admin/users/" + itoa(s.user.ID) + "/"
		p := a.submit(up, up, url.Values{"is_active": {}})
		if p.status != http.StatusOK || !strings.Contains(p.body, "revoked") || !strings.Contains(p.body, `id="confirm"`) {
			t.Fatalf("deactivation confirmation: %d %s", p.status, p.body)
		}
		if u, _ := s.svc.Store().ByID(ctx, s.user.ID); !u.IsActive {
			t.Fatal("deactivated before confirmation")
		}
		if _, err := s.tokens.LookupAccess(ctx, iss.AccessToken); err != nil {
			t.Fatal("tokens revoked before confirmation")
		}
		// Confirming posts the form the page carries.
		if p := a.do("POST", up, formFields(t, p, up)); p.status != http.StatusSeeOther {
			t.Fatalf("confirmed: %d", p.status)
		}
		if u, _ := s.svc.Store().ByID(ctx, s.user.ID); u.IsActive {
			t.Fatal("not deactivated")
		}
		if _, err := s.tokens.LookupAccess(ctx, iss.AccessToken); err == nil {
			t.Fatal("token survived the deactivation")
		}
	})
}

// Defect 4: a one-time message in a live region after every change.
func TestFlashMessages(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		a := s.browser(t)
		a.login("admin@email.com")
		added := a.submit("/admin/users/add/", "/admin/users/add/", url.Values{"email": {"new@email.com"}, "password1": {pw}, "password2": {pw}})
		p := a.follow(added)
		if f := flashOf(p); !strings.Contains(f, "new@email.com") || !strings.Contains(f, "added") {
			t.Fatalf("after add: flash %q", f)
		}
		if again := a.do("GET", added.h.Get("Location"), nil); again.status != http.StatusOK || flashOf(again) != "" {
			t.Fatalf("the message came back on reload (%d): %q", again.status, flashOf(again))
		}
		up := "/admin/users/" + itoa(s.user.ID) + "/"
		p = a.follow(a.submit(up, up, nil))
		if f := flashOf(p); !strings.Contains(f, "changed successfully") {
			t.Fatalf("after change: flash %q", f)
		}
		if f := flashOf(a.do("GET", up, nil)); f != "" {
			t.Fatalf("a reload shows the message again: %q", f)
		}
		for _, step := range []struct{ path, action, want string }{
			{"/admin/groups/add/", "/admin/groups/add/", "added"},
		} {
			p := a.follow(a.submit(step.path, step.action, url.Values{"name": {"editors"}}))
			if f := flashOf(p); !strings.Contains(f, step.want) {
				t.Fatalf("%s: flash %q", step.path, f)
			}
		}
		u := s.browser(t)
		u.login("user1@email.com")
		p, _ = u.register("shop", "shop-id", "confidential", "password", "")
		if f := flashOf(p); !strings.Contains(f, "registered") {
			t.Fatalf("after register: %q", f)
		}
		cl, _ := s.reg.Store().ByClientID(context.Background(), "shop-id")
		dp := "/o/applications/" + itoa(cl.ID) + "/delete/"
		if f := flashOf(u.follow(u.submit(dp, dp, nil))); !strings.Contains(f, "deleted") {
			t.Fatalf("after delete: %q", f)
		}
		// Revoking an application's access says so.
		granted := s.client(t, clients.Client{ClientID: "granted", Name: "granted app", Type: clients.Confidential, GrantTypesRaw: "authorization_code",
			RedirectURIsRaw: "https://g.example/cb", SecretHash: clients.HashGeneratedSecret("s")})
		if err := s.reg.Store().GrantConsent(context.Background(), s.user.ID, granted.ID, "read"); err != nil {
			t.Fatal(err)
		}
		rp := "/o/authorized_tokens/" + itoa(granted.ID) + "/delete/"
		if f := flashOf(u.follow(u.submit(rp, rp, nil))); !strings.Contains(f, "granted app") || !strings.Contains(f, "revoked") {
			t.Fatalf("after revoking: %q", f)
		}
		// Deleting a group says so.
		gs, _ := s.svc.Store().Groups(context.Background())
		gd := "/admin/groups/" + itoa(gs[0].ID) + "/delete/"
		if f := flashOf(a.follow(a.submit(gd, gd, nil))); !strings.Contains(f, "deleted") {
			t.Fatalf("after deleting a group: %q", f)
		}
		// Logging out lands on a page that says so.
		p = u.follow(u.post("/o/applications/", "/logout/", url.Values{}))
		if p.status != http.StatusOK || !strings.Contains(p.body, "logged out") {
			t.Fatalf("after logout: %d %s", p.status, p.body)
		}
	})
}

// Defect 5: errors beside their fields; GET /logout/ is a page.
func TestFormErrorsBesideFields(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		a := s.browser(t)
		a.login("admin@email.com")
		p := a.submit("/admin/users/add/", "/admin/users/add/", url.Values{"email": {"not-an-email"}, "password1": {"abc"}, "password2": {"abd"}})
		if p.status != http.StatusBadRequest {
			t.Fatalf("add: %d", p.status)
		}
		for _, f := range []string{"email", "password1", "password2"} {
			if !strings.Contains(p.body, `aria-invalid="true" aria-describedby="id_`+f+`_error"`) || !strings.Contains(p.body, `<ul class="errorlist" id="id_`+f+`_error">`) {
				t.Errorf("field %s: no error beside it", f)
			}
		}
		if !strings.Contains(p.body, accounts.MsgMismatch) {
			t.Error("the mismatch is not reported beside the weak password")
		}
		if strings.Contains(p.body, "password2:") || strings.Contains(p.body, "password1:") {
			t.Error("internal field names shown")
		}
		// GET /logout/ is an HTML page with a button, signed in or not.
		p = a.do("GET", "/logout/", nil)
		if p.status != http.StatusOK || !strings.HasPrefix(p.h.Get("Content-Type"), "text/html") || !strings.Contains(p.body, `id="logout"`) {
			t.Fatalf("GET /logout/ signed in: %d %s", p.status, p.h.Get("Content-Type"))
		}
		if p := s.browser(t).do("GET", "/logout/", nil); p.status != http.StatusOK || !strings.Contains(p.body, "logged out") {
			t.Fatalf("GET /logout/ signed out: %d", p.status)
		}
	})
}

// Defect 6: numbered pages that never overlap; out-of-range pages are 404.
func TestUserListPaging(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		for i := range 122 {
			u := accounts.User{Email: fmt.Sprintf("p%03d@example.com", i), Password: "!", IsActive: true, DateJoined: time.Now()}
			if err := s.svc.Store().Create(ctx, &u); err != nil {
				t.Fatal(err)
			}
		}
		a := s.browser(t)
		a.login("admin@email.com")
		rowRE := regexp.MustCompile(`</td><td><a href="/admin/users/\d+/">([^<]+)</a>`)
		rows := func(p page) []string {
			var out []string
			for _, m := range rowRE.FindAllStringSubmatch(p.body, -1) {
				out = append(out, m[1])
			}
			return out
		}
		p1 := a.do("GET", "/admin/users/", nil)
		if !strings.Contains(p1.body, "Page 1 of 2") || !strings.Contains(p1.body, "124 users") || strings.Contains(p1.body, `id="prev"`) {
			t.Fatalf("page 1: %s", p1.body)
		}
		next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p1.body)
		if next == nil {
			t.Fatal("no next link")
		}
		p2 := a.do("GET", strings.ReplaceAll(next[1], "&amp;", "&"), nil)
		r1, r2 := rows(p1), rows(p2)
		if len(r1) != 100 || len(r2) != 24 || !strings.Contains(p2.body, "Page 2 of 2") || strings.Contains(p2.body, `id="next"`) {
			t.Fatalf("pages: %d + %d rows", len(r1), len(r2))
		}
		for _, e := range r2 {
			if slices.Contains(r1, e) {
				t.Fatalf("%s is on both pages", e)
			}
		}
		for _, bad := range []string{"?page=999", "?page=3", "?page=0", "?page=abc", "?page=-1"} {
			if p := a.do("GET", "/admin/users/"+bad, nil); p.status != http.StatusNotFound || !strings.HasPrefix(p.h.Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d", bad, p.status)
			}
		}
		// Sorted by email descending, page 1 starts at the end.
		if r := rows(a.do("GET", "/admin/users/?o=-email", nil)); r[0] != "user1@email.com" {
			t.Fatalf("descending: %v", r[:3])
		}
		// One page: no pager at all.
		if p := a.do("GET", "/admin/users/?q=p00", nil); strings.Contains(p.body, "Page 1 of") || strings.Contains(p.body, `rel="next"`) {
			t.Fatal("a single page shows paging controls")
		}
	})
}

// Defect 7: the secret is shown once, on the page after a redirect.
func TestSecretPageAfterRedirect(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		u := s.browser(t)
		u.login("user1@email.com")
		form := u.do("GET", "/o/applications/register/", nil)
		f := formFields(t, form, "/o/applications/register/")
		secret := f.Get("client_secret")
		f.Set("name", "svc")
		f["grant_types"] = []string{"client_credentials"}
		post := u.do("POST", "/o/applications/register/", f)
		if post.status != http.StatusSeeOther || strings.Contains(post.body, secret) {
			t.Fatalf("register answers %d (want a redirect, without the secret)", post.status)
		}
		p := u.follow(post)
		if p.status != http.StatusOK || !strings.Contains(p.body, secret) || !strings.Contains(p.body, `data-copy="client_secret"`) {
			t.Fatalf("secret page: %d", p.status)
		}
		csp := p.h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(p.body, `<script src="/static/copy.js" defer></script>`) {
			t.Fatalf("secret page CSP %q", csp)
		}
		if again := u.do("GET", post.h.Get("Location"), nil); again.status != http.StatusOK || strings.Contains(again.body, secret) {
			t.Fatalf("a reload shows the secret again (%d)", again.status)
		}
		// The secret is kept for that one page sealed, never in clear.
		if js := u.do("GET", "/static/copy.js", nil); js.status != 200 || !strings.HasPrefix(js.h.Get("Content-Type"), "text/javascript") {
			t.Fatalf("copy.js: %d %s", js.status, js.h.Get("Content-Type"))
		}
		cl, err := s.reg.Store().ByClientID(context.Background(), f.Get("client_id"))
		if err != nil || !s.reg.VerifySecret(cl, secret) {
			t.Fatalf("stored: %v", err)
		}
	})
}

// Defect 8 and the pages' shared promises.
func TestPageDetails(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		a := s.browser(t)
		a.login("admin@email.com")
		if p := a.do("GET", "/login/", nil); p.status != http.StatusFound || p.h.Get("Location") != "/o/applications/" {
			t.Fatalf("signed-in /login/: %d %s", p.status, p.h.Get("Location"))
		}
		if p := a.do("GET", "/login/?next=/admin/", nil); p.status != http.StatusFound || p.h.Get("Location") != "/admin/" {
			t.Fatalf("signed-in /login/?next: %d %s", p.status, p.h.Get("Location"))
		}
		if p := a.do("GET", "/admin/users/?q=user1", nil); !strings.Contains(p.body, ">1 user<") {
			t.Fatal(`no "1 user"`)
		}
		if p := a.do("GET", "/admin/users/?q=nobody", nil); strings.Contains(p.body, "<table") || !strings.Contains(p.body, `id="empty"`) {
			t.Fatal("an empty search shows a table")
		}
		if p := a.do("GET", "/admin/users/?q=user1", nil); !strings.Contains(p.body, "<td>No</td><td>Yes</td>") || strings.Contains(p.body, ">true<") {
			t.Fatal("booleans are not Yes/No")
		}
		_, _ = s.svc.Store().CreateGroup(ctx, "editors")
		if p := a.do("GET", "/admin/groups/", nil); !strings.Contains(p.body, `<th scope="col">Name</th><th scope="col">Actions</th>`) {
			t.Fatal("groups table header")
		}
		if p := a.do("GET", "/admin/users/"+itoa(s.user.ID)+"/", nil); !strings.Contains(p.body, "<title>Change user user1@email.com | Portcullis</title>") {
			t.Fatal("title does not name the user")
		}
		if p := a.do("GET", "/favicon.ico", nil); p.status != http.StatusOK || p.h.Get("Content-Type") != "image/png" {
			t.Fatalf("favicon: %d", p.status)
		}
		cl := s.client(t, clients.Client{ClientID: "web", Name: "web", Type: clients.Confidential, GrantTypesRaw: "authorization_code", RedirectURIsRaw: "https://x.example/cb", SecretHash: clients.HashGeneratedSecret("s")})
		if err := s.reg.Store().GrantConsent(ctx, s.staff.ID, cl.ID, "read write"); err != nil {
			t.Fatal(err)
		}
		if p := a.do("GET", "/o/authorized_tokens/", nil); !strings.Contains(p.body, "Read scope") || strings.Contains(p.body, "read write") {
			t.Fatal("scopes shown raw")
		}
		for _, path := range []string{"/admin/", "/admin/users/", "/admin/users/add/", "/admin/groups/", "/admin/applications/",
			"/o/applications/", "/o/authorized_tokens/", "/account/password/", "/logout/"} {
			p := a.do("GET", path, nil)
			if p.status != http.StatusOK {
				t.Errorf("%s: %d", path, p.status)
			}
			checkPage(t, path, p)
		}
		checkPage(t, "/login/", s.browser(t).do("GET", "/login/", nil))
	})
}

var inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>`)

// checkPage holds every page to its landmarks and to no inline script or
// style.
func checkPage(t *testing.T, path string, p page) {
	t.Helper()
	for _, want := range []string{`<a class="skip" href="#main">`, `<main id="main"`, `role="status"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("%s: no %s", path, want)
		}
	}
	if strings.Contains(p.body, "Log out") && !strings.Contains(p.body, `<nav aria-label="Main">`) {
		t.Errorf("%s: no nav landmark", path)
	}
	for _, m := range inlineScript.FindAllString(p.body, -1) {
		if !strings.Contains(m, " src=") {
			t.Errorf("%s: inline script %s", path, m)
		}
	}
	if strings.Contains(p.body, " style=") || strings.Contains(p.body, "<style") || regexp.MustCompile(`\son[a-z]+=`).MatchString(p.body) {
		t.Errorf("%s: inline style or handler", path)
	}
}

// NotFound is the styled 404 page httpapi's NoRoute can give browser paths.
func TestNotFoundPage(t *testing.T) {
	s := newSite(t, testenv.SQLiteURL(t), nil, "")
	h, err := web.New(web.Deps{Accounts: s.svc, Clients: s.reg, Key: []byte(strings.Repeat("k", 32)), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest("GET", "/admin/nonexistent/", nil)
	h.NotFound(c)
	if w.Code != http.StatusNotFound || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") || !strings.Contains(w.Body.String(), "does not exist") {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body.String())
	}
	checkPage(t, "404", page{status: w.Code, body: w.Body.String(), h: w.Header()})
}
