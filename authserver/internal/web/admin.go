package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

const adminPage = 100

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

func (h *Handler) adminUsers(c *gin.Context) {
	q := accounts.UserQuery{Search: c.Query("q"), IsStaff: boolFilter(c.Query("is_staff")), IsActive: boolFilter(c.Query("is_active")),
		After: c.Query("after"), Before: c.Query("before"), Last: c.Query("last") != "", Limit: adminPage}
	page, err := h.d.Accounts.Store().ListUsers(c.Request.Context(), q)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	base := url.Values{}
	for _, k := range []string{"q", "is_staff", "is_active"} {
		if v := c.Query(k); v != "" {
			base.Set(k, v)
		}
	}
	link := func(k, v string) string {
		u := url.Values{}
		for bk, bv := range base {
			u[bk] = bv
		}
		if k != "" {
			u.Set(k, v)
		}
		return "/admin/users/?" + u.Encode()
	}
	data := gin.H{"Title": "Select user to change", "Page": page, "Q": c.Query("q"), "IsStaff": c.Query("is_staff"), "IsActive": c.Query("is_active"),
		"First": link("", ""), "Last": link("last", "1")}
	if page.HasPrev && len(page.Users) > 0 {
		data["Prev"] = link("before", page.Users[0].EmailKey)
	}
	if page.HasNext && len(page.Users) > 0 {
		data["Next"] = link("after", page.Users[len(page.Users)-1].EmailKey)
	}
	h.render(c, http.StatusOK, "admin_users", data)
}

// fieldMessages flattens FieldErrors for the form, renaming password to
// the add form's password1.
func fieldMessages(err error) []string {
	var fe accounts.FieldErrors
	if !errors.As(err, &fe) {
		return nil
	}
	var out []string
	for _, k := range []string{"email", "password", "password2"} {
		for _, m := range fe[k] {
			name := k
			if k == "password" {
				name = "password1"
			}
			out = append(out, name+": "+m)
		}
	}
	return out
}

func (h *Handler) adminUserAdd(c *gin.Context) {
	if c.Request.Method == http.MethodGet {
		h.render(c, http.StatusOK, "admin_user_add", gin.H{"Title": "Add user", "Active": true})
		return
	}
	f := c.Request.PostForm
	staff, active := f.Get("is_staff") != "", f.Get("is_active") != ""
	u, err := h.d.Accounts.AdminCreate(c.Request.Context(), f.Get("email"), f.Get("password1"), f.Get("password2"), staff, active)
	if msgs := fieldMessages(err); msgs != nil {
		h.render(c, http.StatusBadRequest, "admin_user_add", gin.H{"Title": "Add user", "Email": f.Get("email"), "Staff": staff, "Active": active, "Errors": msgs})
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/users/"+strconv.FormatInt(u.ID, 10)+"/")
}

type groupOption struct {
	accounts.Group
	Checked bool
}

func (h *Handler) adminUserChange(c *gin.Context) {
	ctx := c.Request.Context()
	st := h.d.Accounts.Store()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		h.notFound(c)
		return
	}
	u, err := st.ByID(ctx, id)
	if errors.Is(err, accounts.ErrNotFound) {
		h.notFound(c)
		return
	}
	if err != nil {
		h.unavailable(c, err)
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
	show := func(status int, u accounts.User, selected []int64, errs []string, saved bool) {
		opts := make([]groupOption, len(groups))
		for i, g := range groups {
			opts[i].Group = g
			for _, s := range selected {
				opts[i].Checked = opts[i].Checked || s == g.ID
			}
		}
		h.render(c, status, "admin_user_change", gin.H{"Title": "Change user", "Target": u, "Groups": opts, "Errors": errs, "Saved": saved})
	}
	if c.Request.Method == http.MethodGet {
		show(http.StatusOK, u, mine, nil, c.Query("saved") != "")
		return
	}
	f := c.Request.PostForm
	var selected []int64
	for _, v := range f["groups"] {
		if g, err := strconv.ParseInt(v, 10, 64); err == nil {
			selected = append(selected, g)
		}
	}
	next := u
	next.Email, next.IsStaff, next.IsActive = accounts.NormalizeEmail(f.Get("email")), f.Get("is_staff") != "", f.Get("is_active") != ""
	if !accounts.ValidEmail(next.Email) || len(next.Email) > accounts.MaxEmailLength {
		show(http.StatusBadRequest, next, selected, []string{"email: " + accounts.MsgInvalidEmail}, false)
		return
	}
	if pw := f.Get("password1"); pw != "" || f.Get("password2") != "" {
		if err := h.d.Accounts.AdminSetPassword(ctx, u, pw, f.Get("password2")); err != nil {
			if msgs := fieldMessages(err); msgs != nil {
				show(http.StatusBadRequest, next, selected, msgs, false)
				return
			}
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
	err = st.UpdateUser(ctx, u.ID, next.Email, next.IsStaff, next.IsActive)
	if errors.Is(err, accounts.ErrEmailTaken) {
		show(http.StatusBadRequest, next, selected, []string{"email: User with this email already exists."}, false)
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if err := st.SetUserGroups(ctx, u.ID, selected); err != nil {
		if errors.Is(err, accounts.ErrGroupNotFound) {
			show(http.StatusBadRequest, next, selected, []string{"groups: Select a valid choice."}, false)
			return
		}
		h.unavailable(c, err)
		return
	}
	if u.IsActive && !next.IsActive {
		// Deactivation ends every token of the user at once; the event
		// reaches the resource servers' caches.
		if err := h.d.Lifecycle.UserDeactivated(background(c), u.ID); err != nil {
			h.unavailable(c, err)
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/admin/users/"+strconv.FormatInt(u.ID, 10)+"/?saved=1")
}

func (h *Handler) adminGroups(c *gin.Context) {
	gs, err := h.d.Accounts.Store().Groups(c.Request.Context())
	if err != nil {
		h.unavailable(c, err)
		return
	}
	h.render(c, http.StatusOK, "admin_groups", gin.H{"Title": "Groups", "Groups": gs})
}

func (h *Handler) adminGroupEdit(c *gin.Context) {
	ctx := c.Request.Context()
	st := h.d.Accounts.Store()
	var g accounts.Group
	if p := c.Param("id"); p != "" {
		id, err := strconv.ParseInt(p, 10, 64)
		if err == nil {
			g, err = st.GroupByID(ctx, id)
		}
		if err != nil {
			if errors.Is(err, accounts.ErrGroupNotFound) || err != nil && id == 0 {
				h.notFound(c)
				return
			}
			h.unavailable(c, err)
			return
		}
	}
	if c.Request.Method == http.MethodGet {
		h.render(c, http.StatusOK, "admin_group", gin.H{"Title": "Group", "Group": g})
		return
	}
	name := c.Request.PostForm.Get("name")
	var err error
	if g.ID == 0 {
		g, err = st.CreateGroup(ctx, name)
	} else {
		err = st.RenameGroup(ctx, g.ID, name)
	}
	switch {
	case errors.Is(err, accounts.ErrGroupTaken):
		h.render(c, http.StatusBadRequest, "admin_group", gin.H{"Title": "Group", "Group": g, "Name": name, "Error": "Group with this name already exists."})
	case errors.Is(err, accounts.ErrGroupName):
		h.render(c, http.StatusBadRequest, "admin_group", gin.H{"Title": "Group", "Group": g, "Name": name, "Error": "Name: 1-150 characters."})
	case errors.Is(err, accounts.ErrGroupNotFound):
		h.notFound(c)
	case err != nil:
		h.unavailable(c, err)
	default:
		c.Redirect(http.StatusSeeOther, "/admin/groups/")
	}
}

func (h *Handler) adminGroupDelete(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		h.notFound(c)
		return
	}
	err = h.d.Accounts.Store().DeleteGroup(c.Request.Context(), id)
	if errors.Is(err, accounts.ErrGroupNotFound) {
		h.notFound(c)
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/groups/")
}

func (h *Handler) adminApps(c *gin.Context) {
	off, _ := strconv.Atoi(c.Query("o"))
	off = max(off, 0)
	apps, total, err := h.d.Clients.Store().List(c.Request.Context(), clients.ListQuery{Search: c.Query("q"), Offset: off, Limit: adminPage})
	if err != nil {
		h.unavailable(c, err)
		return
	}
	data := gin.H{"Title": "Applications", "Apps": apps, "Total": total, "Q": c.Query("q")}
	link := func(o int) string {
		return "/admin/applications/?" + url.Values{"q": {c.Query("q")}, "o": {strconv.Itoa(o)}}.Encode()
	}
	if off > 0 {
		data["Prev"] = link(max(off-adminPage, 0))
	}
	if off+adminPage < total {
		data["Next"] = link(off + adminPage)
	}
	h.render(c, http.StatusOK, "admin_apps", data)
}

func (h *Handler) adminApp(c *gin.Context) (clients.Client, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		h.notFound(c)
		return clients.Client{}, false
	}
	cl, err := h.d.Clients.Store().ByID(c.Request.Context(), id)
	if errors.Is(err, clients.ErrNotFound) {
		h.notFound(c)
		return cl, false
	}
	if err != nil {
		h.unavailable(c, err)
		return cl, false
	}
	return cl, true
}

func (h *Handler) adminAppEdit(c *gin.Context) {
	if cl, ok := h.adminApp(c); ok {
		h.editApp(c, cl, "/admin/applications/"+strconv.FormatInt(cl.ID, 10)+"/", true)
	}
}

func (h *Handler) adminAppDelete(c *gin.Context) {
	if cl, ok := h.adminApp(c); ok && h.deleteClient(c, cl) {
		c.Redirect(http.StatusSeeOther, "/admin/applications/")
	}
}
