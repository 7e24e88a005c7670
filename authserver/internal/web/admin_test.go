package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/audit"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

// history reads the admin log, newest first.
func (s *site) history(t *testing.T, q audit.Query) []audit.Entry {
	t.Helper()
	es, _, err := audit.New(s.db).List(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// dumpLog is every column of every history row, to look for values that
// must never be there.
func (s *site) dumpLog(t *testing.T) string {
	t.Helper()
	var rows []string
	q := "SELECT actor_email || '|' || object_type || '|' || object_id || '|' || object_repr || '|' || action || '|' || fields || '|' || message FROM admin_log"
	if err := s.db.SelectContext(context.Background(), &rows, q); err != nil {
		t.Fatal(err)
	}
	return strings.Join(rows, "\n")
}

func TestAdminHistory(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		a := s.browser(t)
		a.login("admin@email.com")
		up := "/admin/users/" + itoa(s.user.ID) + "/"
		newPW := pw + "-changed"
		if p := a.submit(up, up, url.Values{"email": {"renamed@email.com"}, "password1": {newPW}, "password2": {newPW}, "is_staff": {"1"}}); p.status != http.StatusSeeOther {
			t.Fatalf("change: %d %s", p.status, p.body)
		}
		es := s.history(t, audit.Query{ObjectType: audit.User, ObjectID: itoa(s.user.ID)})
		if len(es) != 1 || es[0].Action != audit.Change || es[0].ActorEmail != "admin@email.com" || es[0].ActorID.Int64 != s.staff.ID ||
			!sameSet(es[0].Fields(), "email", "password", "is_staff") || !strings.Contains(es[0].Message, "revoked") {
			t.Fatalf("history of the change: %+v", es)
		}
		cl := s.client(t, clients.Client{ClientID: "hist", Name: "hist", Type: clients.Confidential, GrantTypesRaw: "client_credentials", SecretHash: clients.HashGeneratedSecret("s")})
		ap := "/admin/applications/" + itoa(cl.ID) + "/"
		if p := a.submit(ap, ap, url.Values{"client_secret": {"brand-new-secret-value"}, "grant_types": {"client_credentials", "password"}}); p.status != http.StatusSeeOther {
			t.Fatalf("app change: %d %s", p.status, p.body)
		}
		es = s.history(t, audit.Query{ObjectType: audit.Application, ObjectID: itoa(cl.ID)})
		if len(es) != 1 || !sameSet(es[0].Fields(), "client_secret", "grant_types") {
			t.Fatalf("history of the app change: %+v", es)
		}
		for _, p := range []struct{ path, action string }{{"/admin/groups/add/", "/admin/groups/add/"}} {
			a.submit(p.path, p.action, url.Values{"name": {"editors"}})
		}
		gs, _ := s.svc.Store().Groups(ctx)
		gd := "/admin/groups/" + itoa(gs[0].ID) + "/delete/"
		a.submit(gd, gd, nil)
		if es := s.history(t, audit.Query{ObjectType: audit.Group}); len(es) != 2 || es[0].Action != audit.Delete || es[1].Action != audit.Add {
			t.Fatalf("group history: %+v", es)
		}
		ad := ap + "delete/"
		a.submit(ad, ad, nil)
		if es := s.history(t, audit.Query{ObjectType: audit.Application, Action: audit.Delete}); len(es) != 1 || es[0].ObjectRepr != "hist" {
			t.Fatalf("app delete history: %+v", es)
		}
		// No value of a secret field, nor of any hash, is in the log.
		dump := s.dumpLog(t)
		u, _ := s.svc.Store().ByID(ctx, s.user.ID)
		for _, secret := range []string{newPW, "brand-new-secret-value", u.Password, "argon2", "pcs_"} {
			if strings.Contains(dump, secret) {
				t.Fatalf("the history holds %q", secret)
			}
		}
		// The pages: per object, and the global list with its filters.
		if p := a.do("GET", up+"history/", nil); p.status != 200 || !strings.Contains(p.body, "email, password, is_staff") || !strings.Contains(p.body, "History of renamed@email.com") {
			t.Fatalf("user history page: %d %s", p.status, p.body)
		}
		g := a.do("GET", "/admin/history/", nil)
		if g.status != 200 || !strings.Contains(g.body, ">5 entries<") || !strings.Contains(g.body, "Application: hist") {
			t.Fatalf("global history: %d %s", g.status, g.body)
		}
		if p := a.do("GET", "/admin/history/?type=group", nil); !strings.Contains(p.body, ">2 entries<") || strings.Contains(p.body, "renamed@email.com</a>") {
			t.Fatal("type filter")
		}
		if p := a.do("GET", "/admin/history/?action=delete&type=application", nil); !strings.Contains(p.body, ">1 entry<") {
			t.Fatal("action filter")
		}
		if p := a.do("GET", "/admin/history/?actor="+itoa(s.staff.ID), nil); !strings.Contains(p.body, ">5 entries<") {
			t.Fatal("actor filter")
		}
		if p := a.do("GET", "/admin/history/?page=2", nil); p.status != http.StatusNotFound {
			t.Fatalf("history page 2: %d", p.status)
		}
		if p := s.browser(t).do("GET", "/admin/history/", nil); p.status != http.StatusFound {
			t.Fatalf("anonymous history: %d", p.status)
		}
		checkPage(t, "/admin/history/", g)
	})
}

func TestAdminLiveGrantsAndRevokeAll(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		a := s.browser(t)
		a.login("admin@email.com")
		cl := s.client(t, clients.Client{ClientID: "rs", Name: "rs", Type: clients.Confidential, GrantTypesRaw: "password", SecretHash: clients.HashGeneratedSecret("s")})
		var live []tokens.Issued
		for range 2 {
			iss, err := s.tokens.Issue(ctx, tokens.Grant{ClientID: "rs", UserID: s.user.ID, Username: s.user.Email, Scope: "read"}, true)
			if err != nil {
				t.Fatal(err)
			}
			live = append(live, iss)
		}
		other, _ := s.tokens.Issue(ctx, tokens.Grant{ClientID: "rs", UserID: s.staff.ID, Username: s.staff.Email, Scope: "read"}, false)
		up := "/admin/users/" + itoa(s.user.ID) + "/"
		ap := "/admin/applications/" + itoa(cl.ID) + "/"
		if p := a.do("GET", up, nil); !strings.Contains(p.body, "Live grants: <strong>2</strong>") {
			t.Fatalf("user page: %s", p.body)
		}
		if p := a.do("GET", ap, nil); !strings.Contains(p.body, "Live grants: <strong>3</strong>") {
			t.Fatal("application page count")
		}
		conf := a.do("GET", up+"revoke/", nil)
		if conf.status != 200 || !strings.Contains(conf.body, "Live grants: 2.") {
			t.Fatalf("revoke confirmation: %d", conf.status)
		}
		if _, err := s.tokens.LookupAccess(ctx, live[0].AccessToken); err != nil {
			t.Fatal("the confirmation page revoked")
		}
		if p := a.do("POST", up+"revoke/", formFields(t, conf, up+"revoke/")); p.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", p.status)
		}
		for _, iss := range live {
			if _, err := s.tokens.LookupAccess(ctx, iss.AccessToken); err == nil {
				t.Fatal("a token survived revoke all")
			}
		}
		if p := a.do("GET", up, nil); !strings.Contains(p.body, "Live grants: <strong>0</strong>") || !strings.Contains(flashOf(p), "revoked") {
			t.Fatal("after revoke all")
		}
		if es := s.history(t, audit.Query{Action: audit.Revoke}); len(es) != 1 || es[0].ObjectID != itoa(s.user.ID) {
			t.Fatalf("revocation not in the history: %+v", es)
		}
		if p := a.submit(ap+"revoke/", ap+"revoke/", nil); p.status != http.StatusSeeOther {
			t.Fatalf("app revoke: %d", p.status)
		}
		if _, err := s.tokens.LookupAccess(ctx, other.AccessToken); err == nil {
			t.Fatal("the application's token survived revoke all")
		}
		if es := s.history(t, audit.Query{ObjectType: audit.Application, Action: audit.Revoke}); len(es) != 1 {
			t.Fatalf("app revocation not in the history: %+v", es)
		}
	})
}

func TestBulkActions(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		a := s.browser(t)
		a.login("admin@email.com")
		third, _ := s.svc.AdminCreate(ctx, "third@email.com", pw, pw, false, true)
		g, _ := s.svc.Store().CreateGroup(ctx, "editors")
		iss, _ := s.tokens.Issue(ctx, tokens.Grant{ClientID: "c", UserID: s.user.ID, Username: s.user.Email, Scope: "read"}, true)
		list := a.do("GET", "/admin/users/", nil)
		if !strings.Contains(list.body, `name="selected" value="`+itoa(s.user.ID)+`"`) || !strings.Contains(list.body, `value="group:`+itoa(g.ID)+`"`) {
			t.Fatal("no bulk controls")
		}
		f := formFields(t, list, "/admin/users/bulk/")
		f["selected"] = []string{itoa(s.user.ID), itoa(third.ID), itoa(s.staff.ID)}
		f.Set("action", "deactivate")
		conf := a.do("POST", "/admin/users/bulk/", f)
		if conf.status != 200 || !strings.Contains(conf.body, "user1@email.com, third@email.com?") || strings.Contains(conf.body, "admin@email.com,") {
			t.Fatalf("bulk confirmation: %d %s", conf.status, conf.body)
		}
		if u, _ := s.svc.Store().ByID(ctx, s.user.ID); !u.IsActive {
			t.Fatal("deactivated before confirmation")
		}
		p := a.do("POST", "/admin/users/bulk/", formFields(t, conf, "/admin/users/bulk/"))
		if p.status != http.StatusSeeOther || !strings.Contains(flashOf(a.follow(p)), "Deactivated 2 users") {
			t.Fatalf("bulk deactivate: %d", p.status)
		}
		for _, id := range []int64{s.user.ID, third.ID} {
			if u, _ := s.svc.Store().ByID(ctx, id); u.IsActive {
				t.Fatalf("user %d still active", id)
			}
		}
		if u, _ := s.svc.Store().ByID(ctx, s.staff.ID); !u.IsActive {
			t.Fatal("the admin deactivated themself")
		}
		if _, err := s.tokens.LookupAccess(ctx, iss.AccessToken); err == nil {
			t.Fatal("a deactivated user's token survived")
		}
		if es := s.history(t, audit.Query{ObjectType: audit.User, Action: audit.Change}); len(es) != 2 {
			t.Fatalf("bulk deactivation history: %+v", es)
		}
		f = formFields(t, a.do("GET", "/admin/users/", nil), "/admin/users/bulk/")
		f["selected"] = []string{itoa(s.user.ID), itoa(third.ID)}
		f.Set("action", "group:"+itoa(g.ID))
		if p := a.do("POST", "/admin/users/bulk/", f); p.status != http.StatusSeeOther || !strings.Contains(flashOf(a.follow(p)), "Added 2 users to group") {
			t.Fatalf("add to group: %d", p.status)
		}
		if n, _ := s.svc.Store().GroupSize(ctx, g.ID); n != 2 {
			t.Fatalf("group size %d", n)
		}
		// Nothing selected, or a bad action: nothing changes, no 500.
		f.Del("selected")
		if p := a.do("POST", "/admin/users/bulk/", f); p.status != http.StatusSeeOther || !strings.Contains(flashOf(a.follow(p)), "No items have been changed") {
			t.Fatalf("nothing selected: %d", p.status)
		}
		f["selected"] = []string{itoa(s.user.ID)}
		for _, bad := range []string{"", "group:x", "group:99999", "drop"} {
			f.Set("action", bad)
			if p := a.do("POST", "/admin/users/bulk/", f); p.status != http.StatusBadRequest {
				t.Fatalf("action %q: %d", bad, p.status)
			}
		}
	})
}

func TestAdminAppsSortAndFilter(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		s.client(t, clients.Client{ClientID: "zz-pub", Name: "Zulu", Type: clients.Public, GrantTypesRaw: "authorization_code", RedirectURIsRaw: "https://z.example/cb"})
		s.client(t, clients.Client{ClientID: "aa-conf", Name: "alpha", Type: clients.Confidential, GrantTypesRaw: "password", SecretHash: "x"})
		a := s.browser(t)
		a.login("admin@email.com")
		order := func(p page) string {
			i, j := strings.Index(p.body, ">alpha<"), strings.Index(p.body, ">Zulu<")
			switch {
			case i < 0 && j < 0:
				return ""
			case j < 0:
				return "alpha"
			case i < 0:
				return "Zulu"
			case i < j:
				return "alpha Zulu"
			}
			return "Zulu alpha"
		}
		for _, tc := range []struct{ query, want string }{
			{"", "alpha Zulu"},
			{"?o=-name", "Zulu alpha"},
			{"?o=client_type", "alpha Zulu"},
			{"?o=-client_type", "Zulu alpha"},
			{"?type=public", "Zulu"},
			{"?grant=password", "alpha"},
			{"?grant=client_credentials", ""},
		} {
			p := a.do("GET", "/admin/applications/"+tc.query, nil)
			if p.status != http.StatusOK || order(p) != tc.want {
				t.Errorf("%s: %d %q, want %q", tc.query, p.status, order(p), tc.want)
			}
		}
		if p := a.do("GET", "/admin/applications/?o=name", nil); !strings.Contains(p.body, `aria-sort="ascending"><a href="/admin/applications/?o=-name">`) {
			t.Error("the sorted column does not say so, or does not toggle")
		}
		if p := a.do("GET", "/admin/applications/?grant=client_credentials", nil); !strings.Contains(p.body, `id="empty"`) || strings.Contains(p.body, "<table") {
			t.Error("an empty filter shows a table")
		}
	})
}

// A refused change form writes nothing: not the password, not the flags.
func TestAdminUserChangeRefusedWritesNothing(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		a := s.browser(t)
		a.login("admin@email.com")
		live, _ := s.tokens.Issue(ctx, tokens.Grant{ClientID: "c", UserID: s.user.ID, Username: s.user.Email, Scope: "read"}, true)
		up := "/admin/users/" + itoa(s.user.ID) + "/"
		for name, set := range map[string]url.Values{
			"taken email":   {"email": {"admin@email.com"}, "is_staff": {"1"}, "password1": {pw + "-x"}, "password2": {pw + "-x"}},
			"unknown group": {"groups": {"99999"}, "is_staff": {"1"}, "password1": {pw + "-x"}, "password2": {pw + "-x"}},
		} {
			if p := a.submit(up, up, set); p.status != http.StatusBadRequest {
				t.Fatalf("%s: %d", name, p.status)
			}
			u, _ := s.svc.Store().ByID(ctx, s.user.ID)
			if u.IsStaff || u.Password != s.user.Password || u.Email != s.user.Email {
				t.Fatalf("%s: the refused form changed the user", name)
			}
			if _, err := s.tokens.LookupRefresh(ctx, live.RefreshToken); err != nil {
				t.Fatalf("%s: the refused form revoked the user's tokens", name)
			}
		}
	})
}
