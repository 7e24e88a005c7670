package web

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/audit"
)

// AuditLog is the admin's history: every admin change is recorded, with
// the names (never the values) of the fields it changed.
type AuditLog interface {
	Record(ctx context.Context, e audit.Entry, fields ...string) error
	List(ctx context.Context, q audit.Query) ([]audit.Entry, int, error)
}

// TokenCounter counts the live grants of a user or a client, read
// through the token indexes.
type TokenCounter interface {
	CountUser(ctx context.Context, userID int64) (int, error)
	CountClient(ctx context.Context, clientID string) (int, error)
}

// record writes what the signed-in admin just did to the history. The
// change is made already: when the history cannot be written, the admin
// gets a 503 that says so, and the failure is logged with what was
// changed (never a value), so that it can be written by hand.
func (h *Handler) record(c *gin.Context, typ string, id int64, repr, action, message string, fields ...string) bool {
	u, _ := currentUser(c)
	e := audit.Entry{ActorID: sql.NullInt64{Int64: u.ID, Valid: u.ID != 0}, ActorEmail: u.Email, ObjectType: typ,
		ObjectID: strconv.FormatInt(id, 10), ObjectRepr: repr, Action: action, Message: message}
	if err := h.d.Audit.Record(background(c), e, fields...); err != nil {
		h.d.Log.ErrorContext(c.Request.Context(), "admin change not in the history", "object_type", typ, "object_id", id,
			"action", action, "fields", fields, "actor_id", u.ID, "error", err)
		c.Header("Retry-After", "5")
		h.message(c, http.StatusServiceUnavailable, "Saved, but not recorded",
			"The change was made, but the history could not be written. The failure is logged; try again shortly.")
		c.Abort()
		return false
	}
	return true
}

// historyRow is one entry as the history pages show it.
type historyRow struct {
	audit.Entry
	URL string // the object's admin page, "" once deleted
}

var typeURLs = map[string]string{audit.User: usersURL, audit.Group: groupsURL, audit.Application: appsURL}

var actionLabels = map[string]string{audit.Add: "Added", audit.Change: "Changed", audit.Delete: "Deleted", audit.Revoke: "Revoked tokens"}

var typeLabels = map[string]string{audit.User: "User", audit.Group: "Group", audit.Application: "Application"}

func historyRows(es []audit.Entry) []historyRow {
	out := make([]historyRow, len(es))
	for i, e := range es {
		out[i].Entry = e
		if base, ok := typeURLs[e.ObjectType]; ok && e.Action != audit.Delete {
			out[i].URL = base + e.ObjectID + "/"
		}
	}
	return out
}

// history renders a page of entries q selects, under base.
func (h *Handler) history(c *gin.Context, title string, crumbs []crumb, base string, q url.Values, aq audit.Query, filters []filterGroup) {
	page, ok := parsePage(c.Query("page"))
	if !ok {
		h.badPage(c, base, q)
		return
	}
	aq.Page, aq.Limit = page, pageSize
	es, total, err := h.d.Audit.List(c.Request.Context(), aq)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	pg, ok := h.pageOrNotFound(c, total, base, q, page)
	if !ok {
		return
	}
	h.render(c, http.StatusOK, "admin_history", gin.H{"Title": title, "Crumbs": crumbs, "Rows": historyRows(es), "Pager": pg,
		"Filters": filters, "Filtered": len(q) > 0, "Reset": base, "Actions": actionLabels, "Types": typeLabels, "Global": aq.ObjectID == ""})
}

const historyURL = "/admin/history/"

// adminHistory is the global history, filterable by object type, action
// and actor (as the links from an entry's actor lead).
func (h *Handler) adminHistory(c *gin.Context) {
	q := kept(c, "type", "action", "actor")
	aq := audit.Query{ObjectType: q.Get("type"), Action: q.Get("action")}
	if v := q.Get("actor"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			q.Del("actor")
		}
		aq.ActorID = id
	}
	choice := func(title, param string, values []string, labels map[string]string) filterGroup {
		g := filterGroup{Title: title}
		g.Options = append(g.Options, filterOption{Label: "All", URL: listURL(historyURL, q, param, ""), Selected: q.Get(param) == ""})
		for _, v := range values {
			g.Options = append(g.Options, filterOption{Label: labels[v], URL: listURL(historyURL, q, param, v), Selected: q.Get(param) == v})
		}
		return g
	}
	h.history(c, "History", adminCrumbs(crumb{Name: "History"}), historyURL, q, aq,
		[]filterGroup{choice("By object", "type", audit.ObjectTypes, typeLabels), choice("By action", "action", audit.Actions, actionLabels)})
}

func (h *Handler) adminUserHistory(c *gin.Context) {
	if u, ok := h.adminUser(c); ok {
		h.history(c, "History of "+u.Email, adminCrumbs(crumb{"Users", usersURL}, crumb{u.Email, userURL(u.ID)}, crumb{Name: "History"}),
			userURL(u.ID)+"history/", url.Values{}, audit.Query{ObjectType: audit.User, ObjectID: strconv.FormatInt(u.ID, 10)}, nil)
	}
}

func (h *Handler) adminGroupHistory(c *gin.Context) {
	if g, ok := h.adminGroup(c); ok {
		h.history(c, "History of "+g.Name, adminCrumbs(crumb{"Groups", groupsURL}, crumb{g.Name, groupURL(g.ID)}, crumb{Name: "History"}),
			groupURL(g.ID)+"history/", url.Values{}, audit.Query{ObjectType: audit.Group, ObjectID: strconv.FormatInt(g.ID, 10)}, nil)
	}
}

func (h *Handler) adminAppHistory(c *gin.Context) {
	if cl, ok := h.adminApp(c); ok {
		h.history(c, "History of "+cl.Name, adminCrumbs(crumb{"Applications", appsURL}, crumb{cl.Name, adminAppURL(cl.ID)}, crumb{Name: "History"}),
			adminAppURL(cl.ID)+"history/", url.Values{}, audit.Query{ObjectType: audit.Application, ObjectID: strconv.FormatInt(cl.ID, 10)}, nil)
	}
}

// liveGrants counts for a change page; -1 when the token store cannot
// answer (the page still works, and says so).
func liveGrants(n int, err error) int {
	if err != nil {
		return -1
	}
	return n
}

// revokeTarget is what "revoke all tokens" acts on.
type revokeTarget struct {
	typ, name, kind, page string // audit type, name shown, "user"/"application", its admin page
	crumbs                []crumb
	id                    int64
	count                 func(context.Context) (int, error)
	revoke                func(context.Context) error
	stays                 string
}

// revokeAll asks (GET) and then (POST) revokes every token of t, records
// it in the history, and says so.
func (h *Handler) revokeAll(c *gin.Context, t revokeTarget) {
	if c.Request.Method == http.MethodGet {
		n := liveGrants(t.count(c.Request.Context()))
		h.confirm(c, confirmation{Title: "Revoke the tokens of " + t.name, Crumbs: append(t.crumbs, crumb{Name: "Revoke tokens"}),
			Question: "Are you sure you want to revoke every token of the " + t.kind + " “" + t.name + "”?",
			Effects:  []string{grantsLine(n) + " They all end at once, on every resource server.", t.stays},
			Action:   t.page + "revoke/", Back: t.page, Button: "Yes, revoke all"})
		return
	}
	// The admin's "revoke all", through the lifecycle.
	if err := t.revoke(background(c)); err != nil {
		h.unavailable(c, err)
		return
	}
	if !h.record(c, t.typ, t.id, t.name, audit.Revoke, "Every token of the "+t.kind+" was revoked.") {
		return
	}
	h.flash(c, fmt.Sprintf("Every token of “%s” was revoked.", t.name))
	c.Redirect(http.StatusSeeOther, t.page)
}

func (h *Handler) adminUserRevoke(c *gin.Context) {
	u, ok := h.adminUser(c)
	if !ok {
		return
	}
	h.revokeAll(c, revokeTarget{typ: audit.User, name: u.Email, kind: "user", page: userURL(u.ID), id: u.ID,
		crumbs: adminCrumbs(crumb{"Users", usersURL}, crumb{u.Email, userURL(u.ID)}),
		count:  func(ctx context.Context) (int, error) { return h.d.Counter.CountUser(ctx, u.ID) },
		revoke: func(ctx context.Context) error { return h.d.Lifecycle.UserRevoked(ctx, u.ID) },
		stays:  "The user stays active and may sign in and authorize applications again."})
}

func (h *Handler) adminAppRevoke(c *gin.Context) {
	cl, ok := h.adminApp(c)
	if !ok {
		return
	}
	h.revokeAll(c, revokeTarget{typ: audit.Application, name: cl.Name, kind: "application", page: adminAppURL(cl.ID), id: cl.ID,
		crumbs: adminCrumbs(crumb{"Applications", appsURL}, crumb{cl.Name, adminAppURL(cl.ID)}),
		count:  func(ctx context.Context) (int, error) { return h.d.Counter.CountClient(ctx, cl.ClientID) },
		revoke: func(ctx context.Context) error { return h.d.Lifecycle.ClientRevoked(ctx, cl.ClientID) },
		stays:  "The application stays registered and may ask for tokens again."})
}

// grantsLine states a live-grant count (-1: unknown).
func grantsLine(n int) string {
	if n < 0 {
		return "Live grants: unknown (the token store did not answer)."
	}
	return fmt.Sprintf("Live grants: %d.", n)
}
