package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/audit"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

// loadParam loads the object named by the :id path parameter with get,
// or answers (404 for a malformed id or notFound, 503 otherwise) and
// returns false.
func loadParam[T any](h *Handler, c *gin.Context, get func(context.Context, int64) (T, error), notFound error) (T, bool) {
	var zero T
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		h.notFound(c)
		return zero, false
	}
	v, err := get(c.Request.Context(), id)
	if errors.Is(err, notFound) {
		h.notFound(c)
		return zero, false
	}
	if err != nil {
		h.unavailable(c, err)
		return zero, false
	}
	return v, true
}

func (h *Handler) adminUser(c *gin.Context) (accounts.User, bool) {
	return loadParam(h, c, h.d.Accounts.Store().ByID, accounts.ErrNotFound)
}

func (h *Handler) adminGroup(c *gin.Context) (accounts.Group, bool) {
	return loadParam(h, c, h.d.Accounts.Store().GroupByID, accounts.ErrGroupNotFound)
}

func (h *Handler) adminApp(c *gin.Context) (clients.Client, bool) {
	return loadParam(h, c, h.d.Clients.Store().ByID, clients.ErrNotFound)
}

// crumb is one step of the breadcrumbs; the last has no URL.
type crumb struct{ Name, URL string }

// adminCrumbs starts the admin's breadcrumbs at its index.
func adminCrumbs(items ...crumb) []crumb {
	return append([]crumb{{"Home", "/admin/"}}, items...)
}

// listURL is base with q, less its page, with each key of kv set (or
// removed when its value is "").
func listURL(base string, q url.Values, kv ...string) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	v.Del("page")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}

// column is a list's header cell; URL sorts by it (toggling the
// direction when it is the current order), Sort is its aria-sort.
type column struct {
	Label, URL, Sort string
}

// columns builds sortable headers from (label, key) pairs; a "" key is a
// header that does not sort.
func columns(base string, q url.Values, order string, pairs ...string) []column {
	var out []column
	for i := 0; i+1 < len(pairs); i += 2 {
		label, key := pairs[i], pairs[i+1]
		col := column{Label: label}
		if key != "" {
			next := key
			switch order {
			case key:
				col.Sort, next = "ascending", "-"+key
			case "-" + key:
				col.Sort = "descending"
			}
			col.URL = listURL(base, q, "o", next)
		}
		out = append(out, col)
	}
	return out
}

// filterGroup is one sidebar filter, as Django's list_filter shows it.
type filterGroup struct {
	Title   string
	Options []filterOption
}

type filterOption struct {
	Label, URL string
	Selected   bool
}

// yesNoFilter is an All/Yes/No filter on param.
func yesNoFilter(title, base string, q url.Values, param string) filterGroup {
	cur := q.Get(param)
	g := filterGroup{Title: title}
	for _, o := range []struct{ label, v string }{{"All", ""}, {"Yes", "1"}, {"No", "0"}} {
		g.Options = append(g.Options, filterOption{Label: o.label, URL: listURL(base, q, param, o.v), Selected: cur == o.v})
	}
	return g
}

// kept is the subset of the request's query named by keys, without empty
// values: what a list's links carry along.
func kept(c *gin.Context, keys ...string) url.Values {
	v := url.Values{}
	for _, k := range keys {
		if s := strings.TrimSpace(c.Query(k)); s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// pageOrNotFound reads ?page and pages total rows; on a bad or
// out-of-range page it answers 404 and returns false.
func (h *Handler) pageOrNotFound(c *gin.Context, total int, base string, q url.Values, page int) (pager, bool) {
	pg, ok := newPager(total, pageSize, page, base, q)
	if !ok {
		last, _ := newPager(total, pageSize, 1, base, q)
		h.render(c, http.StatusNotFound, "message", gin.H{"Title": "Page not found",
			"Text": fmt.Sprintf("There is no page %d: the list has %d.", page, last.Pages), "Link": listURL(base, q), "LinkText": "Go to page 1"})
		return pg, false
	}
	return pg, true
}

// listQuery reads an admin list's query: the filters named by keys and
// the order "o" (dropped unless orders has its column), as its links carry
// them along, and the page number. On a malformed page it answers 404 and
// returns false.
func (h *Handler) listQuery(c *gin.Context, base string, orders map[string]string, keys ...string) (q url.Values, page int, ok bool) {
	q = kept(c, append(keys, "o")...)
	if _, known := orders[strings.TrimPrefix(q.Get("o"), "-")]; !known {
		q.Del("o")
	}
	if page, ok = parsePage(c.Query("page")); !ok {
		h.badPage(c, base, q)
	}
	return q, page, ok
}

func (h *Handler) badPage(c *gin.Context, base string, q url.Values) {
	h.render(c, http.StatusNotFound, "message", gin.H{"Title": "Page not found",
		"Text": "The page number must be a whole number from 1.", "Link": listURL(base, q), "LinkText": "Go to page 1"})
}

func (h *Handler) adminIndex(c *gin.Context) {
	h.render(c, http.StatusOK, "admin_index", gin.H{"Title": "Site administration", "Keys": h.d.Keys != nil})
}

func boolFilter(v string) *bool {
	switch v {
	case "1", "true":
		t := true
		return &t
	case "0", "false":
		f := false
		return &f
	}
	return nil
}

const usersURL = "/admin/users/"

func (h *Handler) adminUsers(c *gin.Context) {
	q, page, ok := h.listQuery(c, usersURL, accounts.UserOrders, "q", "is_staff", "is_active")
	if !ok {
		return
	}
	res, err := h.d.Accounts.Store().ListUsers(c.Request.Context(), accounts.UserQuery{Search: q.Get("q"),
		IsStaff: boolFilter(q.Get("is_staff")), IsActive: boolFilter(q.Get("is_active")), Order: q.Get("o"), Page: page, Limit: pageSize})
	if err != nil {
		h.unavailable(c, err)
		return
	}
	pg, ok := h.pageOrNotFound(c, res.Total, usersURL, q, page)
	if !ok {
		return
	}
	groups, err := h.d.Accounts.Store().Groups(c.Request.Context())
	if err != nil {
		h.unavailable(c, err)
		return
	}
	h.render(c, http.StatusOK, "admin_users", gin.H{"Actions": bulkActions(groups), "Back": c.Request.URL.RequestURI(), "Title": "Select user to change", "Crumbs": adminCrumbs(crumb{Name: "Users"}),
		"Users": res.Users, "Pager": pg, "Q": q.Get("q"), "Kept": q, "Filtered": len(q) > 0 && !(len(q) == 1 && q.Has("o")),
		"Columns": columns(usersURL, q, q.Get("o"), "Email", "email", "Staff status", "is_staff", "Active", "is_active", "Date joined", "date_joined", "Last login", "last_login"),
		"Filters": []filterGroup{yesNoFilter("By staff status", usersURL, q, "is_staff"), yesNoFilter("By active", usersURL, q, "is_active")},
		"Reset":   listURL(usersURL, nil)})
}

// userFormErrors maps the accounts package's field names to the admin
// forms' (password is the add form's password1).
func userFormErrors(err error) formErrors {
	var fe accounts.FieldErrors
	if !errors.As(err, &fe) {
		return nil
	}
	out := formErrors{}
	for k, msgs := range fe {
		if k == "password" {
			k = "password1"
		}
		for _, m := range msgs {
			out.add(k, m)
		}
	}
	return out
}

func (h *Handler) adminUserAdd(c *gin.Context) {
	crumbs := adminCrumbs(crumb{"Users", usersURL}, crumb{Name: "Add user"})
	if c.Request.Method == http.MethodGet {
		h.render(c, http.StatusOK, "admin_user_add", gin.H{"Title": "Add user", "Crumbs": crumbs, "Active": true, "Errors": formErrors{}})
		return
	}
	f := c.Request.PostForm
	staff, active := f.Get("is_staff") != "", f.Get("is_active") != ""
	u, err := h.d.Accounts.AdminCreate(c.Request.Context(), f.Get("email"), f.Get("password1"), f.Get("password2"), staff, active)
	if fe := userFormErrors(err); fe != nil {
		h.render(c, http.StatusBadRequest, "admin_user_add", gin.H{"Title": "Add user", "Crumbs": crumbs, "Email": f.Get("email"), "Staff": staff, "Active": active, "Errors": fe})
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if !h.record(c, audit.User, u.ID, u.Email, audit.Add, "Added.") {
		return
	}
	h.flash(c, fmt.Sprintf("The user “%s” was added successfully. You may edit it again below.", u.Email))
	c.Redirect(http.StatusSeeOther, userURL(u.ID))
}

func userURL(id int64) string { return usersURL + strconv.FormatInt(id, 10) + "/" }

type groupOption struct {
	accounts.Group
	Checked bool
}

func (h *Handler) adminUserChange(c *gin.Context) {
	ctx := c.Request.Context()
	st := h.d.Accounts.Store()
	u, ok := h.adminUser(c)
	if !ok {
		return
	}
	groups, err := st.Groups(ctx)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	mine, err := st.UserGroupIDs(ctx, u.ID)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	show := func(status int, next accounts.User, selected []int64, errs formErrors) {
		opts := make([]groupOption, len(groups))
		for i, g := range groups {
			opts[i].Group = g
			for _, s := range selected {
				opts[i].Checked = opts[i].Checked || s == g.ID
			}
		}
		h.render(c, status, "admin_user_change", gin.H{"Title": "Change user " + u.Email,
			"Crumbs": adminCrumbs(crumb{"Users", usersURL}, crumb{Name: u.Email}), "Target": next, "Groups": opts, "Errors": errs,
			"Grants": liveGrants(h.d.Counter.CountUser(ctx, u.ID)), "Base": userURL(u.ID)})
	}
	if c.Request.Method == http.MethodGet {
		show(http.StatusOK, u, mine, formErrors{})
		return
	}
	f := c.Request.PostForm
	// A confirmed deactivation applies the form stashed when it was asked,
	// not what the confirmation page posts (only a reference to it).
	confirmed := f.Get("confirm") != ""
	if confirmed {
		if f, ok = h.pending(c, userURL(u.ID)); !ok {
			return
		}
	}
	var selected []int64
	for _, v := range f["groups"] {
		if g, err := strconv.ParseInt(v, 10, 64); err == nil {
			selected = append(selected, g)
		}
	}
	next := u
	next.Email, next.IsStaff, next.IsActive = accounts.NormalizeEmail(f.Get("email")), f.Get("is_staff") != "", f.Get("is_active") != ""
	if !accounts.ValidEmail(next.Email) || len(next.Email) > accounts.MaxEmailLength {
		show(http.StatusBadRequest, next, selected, formErrors{"email": {accounts.MsgInvalidEmail}})
		return
	}
	pw := f.Get("password1")
	setPassword := pw != "" || f.Get("password2") != ""
	if setPassword {
		if err := h.d.Accounts.ValidateAdminPassword(u, pw, f.Get("password2")); err != nil {
			if fe := userFormErrors(err); fe != nil {
				show(http.StatusBadRequest, next, selected, fe)
				return
			}
			h.unavailable(c, err)
			return
		}
	}
	deactivate := u.IsActive && !next.IsActive
	if deactivate && !confirmed {
		// Deactivation ends every token and session of the user: ask
		// first, keeping the form (and any new password) server-side.
		pending := url.Values{}
		for _, k := range []string{"email", "is_staff", "is_active", "password1", "password2", "groups"} {
			if vs, ok := f[k]; ok {
				pending[k] = vs
			}
		}
		h.confirm(c, confirmation{Title: "Deactivate " + u.Email, Crumbs: adminCrumbs(crumb{"Users", usersURL}, crumb{u.Email, userURL(u.ID)}, crumb{Name: "Deactivate"}),
			Question: "Are you sure you want to deactivate the user “" + u.Email + "”?",
			Effects:  []string{"The user can no longer log in, and their browser sessions end.", "Every access and refresh token of the user is revoked at once, on every resource server."},
			Action:   userURL(u.ID), Back: userURL(u.ID), Button: "Yes, deactivate", Pending: pending})
		return
	}
	// Every check comes before the first write, so that a refused form
	// changes nothing: the groups must exist, the email must be free.
	for _, id := range selected {
		if !slices.ContainsFunc(groups, func(g accounts.Group) bool { return g.ID == id }) {
			show(http.StatusBadRequest, next, selected, formErrors{"groups": {"Select a valid choice."}})
			return
		}
	}
	err = st.UpdateUser(ctx, u.ID, next.Email, next.IsStaff, next.IsActive)
	if errors.Is(err, accounts.ErrEmailTaken) {
		show(http.StatusBadRequest, next, selected, formErrors{"email": {"User with this email already exists."}})
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if err := st.SetUserGroups(ctx, u.ID, selected); err != nil {
		// a group deleted since the check: the page says so, and the
		// rest of the change stands
		if errors.Is(err, accounts.ErrGroupNotFound) {
			show(http.StatusBadRequest, next, selected, formErrors{"groups": {"Select a valid choice."}})
			return
		}
		h.unavailable(c, err)
		return
	}
	if setPassword {
		if err := h.d.Accounts.AdminSetPassword(ctx, u, pw, f.Get("password2")); err != nil {
			h.unavailable(c, err)
			return
		}
		// A password reset is what an admin does to a compromised account:
		// every token of the user ends now, and the user's browser sessions
		// end at their next request (web.session compares the password).
		if err := h.d.Lifecycle.PasswordReset(background(c), u.ID); err != nil {
			h.unavailable(c, err)
			return
		}
	}
	if deactivate {
		// Deactivation ends every token of the user at once; the event
		// reaches the resource servers' caches.
		if err := h.d.Lifecycle.UserDeactivated(background(c), u.ID); err != nil {
			h.unavailable(c, err)
			return
		}
	}
	var fields []string
	for _, f := range []struct {
		name    string
		changed bool
	}{{"email", next.Email != u.Email}, {"password", setPassword}, {"is_staff", next.IsStaff != u.IsStaff},
		{"is_active", next.IsActive != u.IsActive}, {"groups", !sameIDs(mine, selected)}} {
		if f.changed {
			fields = append(fields, f.name)
		}
	}
	msg := "Changed."
	switch {
	case len(fields) == 0:
		msg = "No fields changed."
	case deactivate:
		msg = "Deactivated: every token of the user was revoked."
	case setPassword:
		msg = "New password set: every token of the user was revoked."
	}
	if !h.record(c, audit.User, u.ID, next.Email, audit.Change, msg, fields...) {
		return
	}
	h.flash(c, fmt.Sprintf("The user “%s” was changed successfully.", next.Email))
	c.Redirect(http.StatusSeeOther, userURL(u.ID))
}

const groupsURL = "/admin/groups/"

func groupURL(id int64) string { return groupsURL + strconv.FormatInt(id, 10) + "/" }

func (h *Handler) adminGroups(c *gin.Context) {
	gs, err := h.d.Accounts.Store().Groups(c.Request.Context())
	if err != nil {
		h.unavailable(c, err)
		return
	}
	h.render(c, http.StatusOK, "admin_groups", gin.H{"Title": "Groups", "Crumbs": adminCrumbs(crumb{Name: "Groups"}), "Groups": gs})
}

func (h *Handler) adminGroupEdit(c *gin.Context) {
	ctx := c.Request.Context()
	st := h.d.Accounts.Store()
	var g accounts.Group
	if c.Param("id") != "" {
		var ok bool
		if g, ok = h.adminGroup(c); !ok {
			return
		}
	}
	title, last := "Add group", "Add group"
	if g.ID != 0 {
		title, last = "Change group "+g.Name, g.Name
	}
	show := func(status int, name string, errs formErrors) {
		h.render(c, status, "admin_group", gin.H{"Title": title, "Crumbs": adminCrumbs(crumb{"Groups", groupsURL}, crumb{Name: last}),
			"Group": g, "Name": name, "Errors": errs})
	}
	if c.Request.Method == http.MethodGet {
		show(http.StatusOK, g.Name, formErrors{})
		return
	}
	name := c.Request.PostForm.Get("name")
	var err error
	created := g.ID == 0
	if created {
		g, err = st.CreateGroup(ctx, name)
	} else {
		err = st.RenameGroup(ctx, g.ID, name)
	}
	switch {
	case errors.Is(err, accounts.ErrGroupTaken):
		show(http.StatusBadRequest, name, formErrors{"name": {"Group with this name already exists."}})
	case errors.Is(err, accounts.ErrGroupName):
		show(http.StatusBadRequest, name, formErrors{"name": {"Enter a name of 1 to 150 characters."}})
	case errors.Is(err, accounts.ErrGroupNotFound):
		h.notFound(c)
	case err != nil:
		h.unavailable(c, err)
	default:
		verb, action, fields := "changed", audit.Change, []string{"name"}
		if created {
			verb, action, fields = "added", audit.Add, nil
		}
		if !h.record(c, audit.Group, g.ID, strings.TrimSpace(name), action, strings.ToUpper(verb[:1])+verb[1:]+".", fields...) {
			return
		}
		h.flash(c, fmt.Sprintf("The group “%s” was %s successfully.", strings.TrimSpace(name), verb))
		c.Redirect(http.StatusSeeOther, groupsURL)
	}
}

func (h *Handler) adminGroupDelete(c *gin.Context) {
	g, ok := h.adminGroup(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if c.Request.Method == http.MethodGet {
		n, err := h.d.Accounts.Store().GroupSize(ctx, g.ID)
		if err != nil {
			h.unavailable(c, err)
			return
		}
		h.confirm(c, confirmation{Title: "Delete group " + g.Name, Crumbs: adminCrumbs(crumb{"Groups", groupsURL}, crumb{g.Name, groupURL(g.ID)}, crumb{Name: "Delete"}),
			Question: "Are you sure you want to delete the group “" + g.Name + "”?",
			Effects:  []string{fmt.Sprintf("Its %s will no longer be in it; the users themselves are kept.", pluralize(n, "member", "members"))},
			Action:   groupURL(g.ID) + "delete/", Back: groupURL(g.ID), Button: "Yes, delete"})
		return
	}
	err := h.d.Accounts.Store().DeleteGroup(ctx, g.ID)
	if errors.Is(err, accounts.ErrGroupNotFound) {
		h.notFound(c)
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if !h.record(c, audit.Group, g.ID, g.Name, audit.Delete, "Deleted.") {
		return
	}
	h.flash(c, fmt.Sprintf("The group “%s” was deleted successfully.", g.Name))
	c.Redirect(http.StatusSeeOther, groupsURL)
}

const appsURL = "/admin/applications/"

func adminAppURL(id int64) string { return appsURL + strconv.FormatInt(id, 10) + "/" }

func (h *Handler) adminApps(c *gin.Context) {
	q, page, ok := h.listQuery(c, appsURL, clients.ListOrders, "q", "type", "grant")
	if !ok {
		return
	}
	apps, total, err := h.d.Clients.Store().List(c.Request.Context(), clients.ListQuery{Search: q.Get("q"), Type: q.Get("type"), Grant: q.Get("grant"),
		Order: q.Get("o"), Offset: (page - 1) * pageSize, Limit: pageSize})
	if err != nil {
		h.unavailable(c, err)
		return
	}
	pg, ok := h.pageOrNotFound(c, total, appsURL, q, page)
	if !ok {
		return
	}
	typeFilter := filterGroup{Title: "By client type"}
	for _, o := range []struct{ label, v string }{{"All", ""}, {"Confidential", clients.Confidential}, {"Public", clients.Public}} {
		typeFilter.Options = append(typeFilter.Options, filterOption{Label: o.label, URL: listURL(appsURL, q, "type", o.v), Selected: q.Get("type") == o.v})
	}
	grantFilter := filterGroup{Title: "By grant type", Options: []filterOption{{Label: "All", URL: listURL(appsURL, q, "grant", ""), Selected: q.Get("grant") == ""}}}
	for _, g := range grantChoices {
		grantFilter.Options = append(grantFilter.Options, filterOption{Label: g.Label, URL: listURL(appsURL, q, "grant", g.Value), Selected: q.Get("grant") == g.Value})
	}
	h.render(c, http.StatusOK, "admin_apps", gin.H{"Title": "Applications", "Crumbs": adminCrumbs(crumb{Name: "Applications"}),
		"Apps": apps, "Pager": pg, "Q": q.Get("q"), "Kept": q, "Filtered": len(q) > 0 && !(len(q) == 1 && q.Has("o")), "Reset": appsURL, "GrantLabels": grantLabels,
		"Columns": columns(appsURL, q, q.Get("o"), "Name", "name", "Client id", "client_id", "Type", "client_type", "Grant types", "", "Created", "created_at", "Actions", ""),
		"Filters": []filterGroup{typeFilter, grantFilter}})
}

func (h *Handler) adminAppEdit(c *gin.Context) {
	if cl, ok := h.adminApp(c); ok {
		h.editApp(c, cl, adminAppURL(cl.ID), true)
	}
}

func (h *Handler) adminAppDelete(c *gin.Context) {
	cl, ok := h.adminApp(c)
	if !ok {
		return
	}
	if c.Request.Method == http.MethodGet {
		h.confirmDeleteApp(c, cl, adminAppURL(cl.ID), appsURL,
			adminCrumbs(crumb{"Applications", appsURL}, crumb{cl.Name, adminAppURL(cl.ID)}, crumb{Name: "Delete"}))
		return
	}
	if h.deleteClient(c, cl) && h.record(c, audit.Application, cl.ID, cl.Name, audit.Delete, "Deleted: every token of the application was revoked.") {
		c.Redirect(http.StatusSeeOther, appsURL)
	}
}

// sameIDs reports whether a and b hold the same ids, in any order.
func sameIDs(a, b []int64) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
