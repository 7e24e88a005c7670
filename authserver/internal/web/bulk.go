package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/audit"
)

// Bulk actions on the user list, as Django's admin actions: tick users,
// pick an action, Go. Deactivation asks first; adding to a group does not
// (it takes nothing away).

// bulkAction is one option of the list's action menu.
type bulkAction struct{ Value, Label string }

const actionDeactivate = "deactivate"

// bulkActions are the menu's options: deactivation, and one "add to" per
// group.
func bulkActions(groups []accounts.Group) []bulkAction {
	out := []bulkAction{{actionDeactivate, "Deactivate selected users (revokes their tokens)"}}
	for _, g := range groups {
		out = append(out, bulkAction{"group:" + strconv.FormatInt(g.ID, 10), "Add selected users to group “" + g.Name + "”"})
	}
	return out
}

func (h *Handler) adminUsersBulk(c *gin.Context) {
	ctx := c.Request.Context()
	st := h.d.Accounts.Store()
	f := c.Request.PostForm
	// A confirmed action applies the selection stashed when it was asked.
	confirmed := f.Get("confirm") != ""
	if confirmed {
		var ok bool
		if f, ok = h.pending(c, usersURL+"bulk/"); !ok {
			return
		}
	}
	back := SafeNext(f.Get("back"))
	if !strings.HasPrefix(back, usersURL) {
		back = usersURL
	}
	var users []accounts.User
	seen := map[int64]bool{}
	for _, v := range f["selected"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || seen[id] {
			continue
		}
		seen[id] = true
		u, err := st.ByID(ctx, id)
		if err == nil {
			users = append(users, u)
		} else if !errors.Is(err, accounts.ErrNotFound) {
			h.unavailable(c, err)
			return
		}
	}
	if len(users) == 0 {
		h.flash(c, "Items must be selected in order to perform actions on them. No items have been changed.")
		c.Redirect(http.StatusSeeOther, back)
		return
	}
	action := f.Get("action")
	switch {
	case action == actionDeactivate:
		h.bulkDeactivate(c, users, back, confirmed)
	case strings.HasPrefix(action, "group:"):
		gid, err := strconv.ParseInt(strings.TrimPrefix(action, "group:"), 10, 64)
		if err != nil {
			h.message(c, http.StatusBadRequest, "Bad request", "No such action.")
			return
		}
		h.bulkAddToGroup(c, users, gid, back)
	default:
		h.message(c, http.StatusBadRequest, "Bad request", "Select an action to perform.")
	}
}

func (h *Handler) bulkDeactivate(c *gin.Context, users []accounts.User, back string, confirmed bool) {
	me, _ := currentUser(c)
	var todo []accounts.User
	for _, u := range users {
		if u.IsActive && u.ID != me.ID {
			todo = append(todo, u)
		}
	}
	if len(todo) == 0 {
		h.flash(c, "None of the selected users can be deactivated: they are inactive already, or one is you.")
		c.Redirect(http.StatusSeeOther, back)
		return
	}
	if !confirmed {
		pending := url.Values{"action": {actionDeactivate}, "back": {back}}
		effects := []string{fmt.Sprintf("%s can no longer log in, and their browser sessions end.", pluralize(len(todo), "user", "users")),
			"Every access and refresh token of each is revoked at once, on every resource server."}
		var names []string
		for _, u := range todo {
			pending.Add("selected", strconv.FormatInt(u.ID, 10))
			names = append(names, u.Email)
		}
		if len(todo) < len(users) {
			effects = append(effects, "Users that are inactive already, and you, are left as they are.")
		}
		h.confirm(c, confirmation{Title: "Deactivate " + pluralize(len(todo), "user", "users"), Crumbs: adminCrumbs(crumb{"Users", back}, crumb{Name: "Deactivate"}),
			Question: "Are you sure you want to deactivate these users: " + strings.Join(names, ", ") + "?",
			Effects:  effects, Action: usersURL + "bulk/", Back: back, Button: "Yes, deactivate", Pending: pending})
		return
	}
	ctx := c.Request.Context()
	for _, u := range todo {
		if err := h.d.Accounts.Store().SetActive(ctx, u.ID, false); err != nil {
			h.unavailable(c, err)
			return
		}
		if err := h.d.Lifecycle.UserDeactivated(background(c), u.ID); err != nil {
			h.unavailable(c, err)
			return
		}
		if !h.record(c, audit.User, u.ID, u.Email, audit.Change, "Deactivated by a bulk action: every token of the user was revoked.", "is_active") {
			return
		}
	}
	h.flash(c, fmt.Sprintf("Deactivated %s; their tokens were revoked.", pluralize(len(todo), "user", "users")))
	c.Redirect(http.StatusSeeOther, back)
}

func (h *Handler) bulkAddToGroup(c *gin.Context, users []accounts.User, gid int64, back string) {
	ctx := c.Request.Context()
	failed := func(err error) {
		if errors.Is(err, accounts.ErrGroupNotFound) {
			h.message(c, http.StatusBadRequest, "Bad request", "That group no longer exists.")
			return
		}
		h.unavailable(c, err)
	}
	g, err := h.d.Accounts.Store().GroupByID(ctx, gid)
	if err != nil {
		failed(err)
		return
	}
	ids := make([]int64, len(users))
	byID := map[int64]accounts.User{}
	for i, u := range users {
		ids[i], byID[u.ID] = u.ID, u
	}
	added, err := h.d.Accounts.Store().AddToGroup(ctx, g.ID, ids)
	if err != nil {
		failed(err)
		return
	}
	for _, id := range added {
		if !h.record(c, audit.User, id, byID[id].Email, audit.Change, "Added to group “"+g.Name+"” by a bulk action.", "groups") {
			return
		}
	}
	h.flash(c, fmt.Sprintf("Added %s to group “%s”.", pluralize(len(added), "user", "users"), g.Name))
	c.Redirect(http.StatusSeeOther, back)
}
