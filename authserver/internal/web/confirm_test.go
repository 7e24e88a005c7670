package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A confirmation page never echoes the form it confirms (a new password
// least of all): the change waits server-side, and the page posts a
// single-use reference that only its session and its user can redeem.
func TestConfirmationKeepsTheFormServerSide(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		st := s.svc.Store()
		a := s.browser(t)
		a.login("admin@email.com")
		third, err := s.svc.AdminCreate(ctx, "third@email.com", pw, pw, false, true)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := st.ByID(ctx, s.user.ID)
		const newPW = "Fresh-Secret-Passw0rd-91"
		up := "/admin/users/" + itoa(s.user.ID) + "/"
		conf := a.submit(up, up, url.Values{"is_active": {}, "password1": {newPW}, "password2": {newPW}, "is_staff": {"1"}})
		if conf.status != http.StatusOK || !strings.Contains(conf.body, `id="confirm"`) {
			t.Fatalf("deactivation confirmation: %d %s", conf.status, conf.body)
		}
		if strings.Contains(conf.body, newPW) || strings.Contains(conf.body, url.QueryEscape(newPW)) {
			t.Fatal("the confirmation page echoes the new password")
		}
		checkPage(t, "confirmation", conf)
		f := formFields(t, conf, up)
		onlyReference(t, f)
		unchanged := func(what string) {
			t.Helper()
			u, _ := st.ByID(ctx, s.user.ID)
			if !u.IsActive || u.IsStaff || u.Password != before.Password {
				t.Fatalf("%s changed the user: %+v", what, u)
			}
		}
		unchanged("the confirmation page")

		// Another session (even the same admin's) cannot redeem it.
		b := s.browser(t)
		b.login("admin@email.com")
		other := url.Values{"confirm": f["confirm"], "csrfmiddlewaretoken": {csrfOf(t, b.do("GET", up, nil))}}
		if p := b.do("POST", up, other); p.status != http.StatusBadRequest || !strings.Contains(p.body, "expired or was already used") {
			t.Fatalf("another session's confirmation: %d %s", p.status, p.body)
		}
		unchanged("another session's confirmation")
		// A made-up reference, or the form posted with confirm set, is refused.
		for _, forged := range []url.Values{{"confirm": {"1"}, "email": {"user1@email.com"}}, {"confirm": {strings.Repeat("A", 43)}}} {
			forged.Set("csrfmiddlewaretoken", f.Get("csrfmiddlewaretoken"))
			if p := a.do("POST", up, forged); p.status != http.StatusBadRequest {
				t.Fatalf("forged confirmation %v: %d", forged, p.status)
			}
			unchanged("a forged confirmation")
		}

		// Confirming applies exactly the stashed change; fields posted
		// beside the reference are ignored.
		withExtra := url.Values{"email": {"evil@email.com"}}
		for k, vs := range f {
			withExtra[k] = vs
		}
		p := a.do("POST", up, withExtra)
		if p.status != http.StatusSeeOther {
			t.Fatalf("confirmed: %d %s", p.status, p.body)
		}
		after, _ := st.ByID(ctx, s.user.ID)
		if after.IsActive || !after.IsStaff || after.Email != "user1@email.com" || after.Password == before.Password {
			t.Fatalf("not the stashed change: %+v", after)
		}

		// A replay does nothing, even once the user is active again.
		if err := st.SetActive(ctx, s.user.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc.Authenticate(ctx, "user1@email.com", newPW); err != nil {
			t.Fatalf("the stashed password was not set: %v", err)
		}
		if p := a.do("POST", up, f); p.status != http.StatusBadRequest {
			t.Fatalf("replayed confirmation: %d", p.status)
		}
		if u, _ := st.ByID(ctx, s.user.ID); !u.IsActive {
			t.Fatal("the replay deactivated the user again")
		}

		// A confirmation asked for one user cannot be spent on another.
		tp := "/admin/users/" + itoa(third.ID) + "/"
		conf = a.submit(tp, tp, url.Values{"is_active": {}})
		if conf.status != http.StatusOK {
			t.Fatalf("third's confirmation: %d", conf.status)
		}
		f = formFields(t, conf, tp)
		if p := a.do("POST", up, f); p.status != http.StatusBadRequest {
			t.Fatalf("a confirmation for another user: %d", p.status)
		}
		if u, _ := st.ByID(ctx, s.user.ID); !u.IsActive {
			t.Fatal("another user's confirmation deactivated this one")
		}
		if u, _ := st.ByID(ctx, third.ID); !u.IsActive {
			t.Fatal("a misdirected confirmation deactivated its user")
		}

		// The bulk action's confirmation carries no selection either, and
		// is single-use.
		list := a.do("GET", "/admin/users/", nil)
		bf := formFields(t, list, "/admin/users/bulk/")
		bf["selected"] = []string{itoa(third.ID)}
		bf.Set("action", "deactivate")
		conf = a.do("POST", "/admin/users/bulk/", bf)
		if conf.status != http.StatusOK || !strings.Contains(conf.body, "third@email.com") {
			t.Fatalf("bulk confirmation: %d", conf.status)
		}
		f = formFields(t, conf, "/admin/users/bulk/")
		onlyReference(t, f)
		f.Add("selected", itoa(s.user.ID)) // ignored: the stash decides
		if p := a.do("POST", "/admin/users/bulk/", f); p.status != http.StatusSeeOther {
			t.Fatalf("bulk confirmed: %d", p.status)
		}
		if u, _ := st.ByID(ctx, third.ID); u.IsActive {
			t.Fatal("bulk confirmation did not deactivate")
		}
		if u, _ := st.ByID(ctx, s.user.ID); !u.IsActive {
			t.Fatal("a user added beside the reference was deactivated")
		}
		if err := st.SetActive(ctx, third.ID, true); err != nil {
			t.Fatal(err)
		}
		if p := a.do("POST", "/admin/users/bulk/", f); p.status != http.StatusBadRequest {
			t.Fatalf("replayed bulk confirmation: %d", p.status)
		}
		if u, _ := st.ByID(ctx, third.ID); !u.IsActive {
			t.Fatal("the bulk replay deactivated again")
		}
	})
}

// onlyReference fails unless a confirmation form posts nothing but its
// CSRF token and the reference to the pending change.
func onlyReference(t *testing.T, f url.Values) {
	t.Helper()
	for k := range f {
		if k != "csrfmiddlewaretoken" && k != "confirm" {
			t.Fatalf("the confirmation page carries the form field %q", k)
		}
	}
}
