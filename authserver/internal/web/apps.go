package web

import (
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/audit"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

// grantChoice is one box of the "Authorization grant types" group (RFC
// 6749's names; Implicit is not offered: RFC 9700 §2.1.2).
type grantChoice struct{ Value, Label string }

var grantChoices = []grantChoice{
	{clients.GrantAuthorizationCode, "Authorization code"},
	{clients.GrantPassword, "Resource owner password-based"},
	{clients.GrantClientCredentials, "Client credentials"},
	{clients.GrantRefreshToken, "Refresh token"},
	{clients.GrantDeviceCode, "Device code"},
}

// grantLabels names each grant type for the lists.
var grantLabels = func() map[string]string {
	m := map[string]string{}
	for _, g := range grantChoices {
		m[g.Value] = g.Label
	}
	return m
}()

// appForm is the register/update form's state.
type appForm struct {
	// PK and StoredClientID name the application being changed (0 and ""
	// on registration).
	PK                                                                                    int64
	StoredClientID                                                                        string
	Name, ClientID, ClientSecret, SecretMark, ClientType, RedirectURIs, Algorithm, Scopes string
	PostLogoutRedirectURIs                                                                string
	// Grants are the ticked grant types, by RFC 6749 name.
	Grants            []string
	SkipAuthorization bool
	Errors            formErrors
}

// Has reports whether grant g is ticked.
func (f appForm) Has(g string) bool { return slices.Contains(f.Grants, g) }

func formFromClient(c clients.Client) appForm {
	return appForm{PK: c.ID, StoredClientID: c.ClientID, Name: c.Name, ClientID: c.ClientID, ClientType: c.Type, Grants: c.GrantTypes(),
		RedirectURIs: strings.Join(c.RedirectURIs(), "\n"), Algorithm: c.Algorithm, Scopes: c.ScopesRaw, SkipAuthorization: c.SkipAuthorization,
		PostLogoutRedirectURIs: strings.Join(c.PostLogoutRedirectURIs(), "\n"), Errors: formErrors{}}
}

func readAppForm(c *gin.Context, admin bool) appForm {
	f := c.Request.PostForm
	out := appForm{Name: f.Get("name"), ClientID: strings.TrimSpace(f.Get("client_id")), ClientSecret: f.Get("client_secret"),
		SecretMark: f.Get("secret_mark"), ClientType: f.Get("client_type"), Grants: f["grant_types"],
		RedirectURIs: f.Get("redirect_uris"), Algorithm: f.Get("algorithm"), PostLogoutRedirectURIs: f.Get("post_logout_redirect_uris"),
		Errors: formErrors{}}
	if admin {
		out.Scopes = f.Get("scopes")
		out.SkipAuthorization = f.Get("skip_authorization") != ""
	}
	return out
}

// apply copies the form onto c, hashing a new secret, and returns the
// form's problems. A secret the server generated for the form (its mark
// matches) gets the fast hash, one the user typed gets argon2id. An empty
// secret keeps the old one. Every ticked grant type is kept.
func (h *Handler) apply(form appForm, c *clients.Client) formErrors {
	errs := formErrors{}
	var grants []string
	for _, g := range form.Grants {
		n, err := clients.NormalizeGrant(g)
		if err != nil {
			errs.add("grant_types", "Select a valid authorization grant type.")
			break
		}
		if !slices.Contains(grants, n) {
			grants = append(grants, n)
		}
	}
	if len(grants) == 0 && len(errs) == 0 {
		errs.add("grant_types", "Select at least one authorization grant type.")
	}
	if strings.TrimSpace(form.Name) == "" {
		errs.add("name", "This field is required.")
	}
	c.Name, c.ClientID, c.Type, c.GrantTypesRaw, c.RedirectURIsRaw = form.Name, form.ClientID, form.ClientType, strings.Join(grants, " "), form.RedirectURIs
	c.Algorithm, c.PostLogoutRedirectURIsRaw = form.Algorithm, form.PostLogoutRedirectURIs
	c.ScopesRaw, c.SkipAuthorization = form.Scopes, form.SkipAuthorization
	if form.ClientSecret != "" {
		generated := subtle.ConstantTimeCompare([]byte(h.mac("secret", form.ClientSecret)), []byte(form.SecretMark)) == 1
		hash, err := h.d.Clients.HashSecret(form.ClientSecret, generated)
		if err != nil {
			errs.add("client_secret", "The secret could not be stored.")
		}
		c.SecretHash = hash
	}
	if c.Type == clients.Public {
		c.SecretHash = ""
	} else if c.SecretHash == "" {
		errs.add("client_secret", "A confidential client needs a secret.")
	}
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			field, msg := clientError(err)
			errs.add(field, msg)
		}
	}
	return errs
}

// clientError is the form field a clients validation error belongs to,
// and its message.
func clientError(err error) (field, msg string) {
	switch {
	case errors.Is(err, clients.ErrClientIDTaken):
		return "client_id", "Application with this client id already exists."
	case errors.Is(err, clients.ErrInvalidClientID):
		return "client_id", "Use 1 to 100 printable ASCII characters without ':' or spaces."
	case errors.Is(err, clients.ErrInvalidType):
		return "client_type", "Select a valid client type."
	case errors.Is(err, clients.ErrInvalidRedirect):
		return "redirect_uris", "Redirect URIs must be absolute URIs without a fragment (no javascript:, data: or file:)."
	case errors.Is(err, clients.ErrRedirectRequired):
		return "redirect_uris", "The authorization code grant needs at least one redirect URI."
	case errors.Is(err, clients.ErrPublicClientCredentials):
		return "grant_types", "A public client cannot use the client credentials grant."
	case errors.Is(err, clients.ErrInvalidGrant):
		return "grant_types", "Select a valid authorization grant type."
	case errors.Is(err, clients.ErrInvalidAlgorithm):
		return "algorithm", "Select a valid algorithm."
	case errors.Is(err, clients.ErrInvalidPostLogout):
		return "post_logout_redirect_uris", "Post logout redirect URIs must be absolute URIs without a fragment (no javascript:, data: or file:)."
	}
	return nonField, "The application could not be saved."
}

func (h *Handler) renderAppForm(c *gin.Context, status int, title string, crumbs []crumb, f appForm, action string, admin bool) {
	data := gin.H{"Title": title, "Crumbs": crumbs, "Form": f, "Grants": grantChoices, "Action": action, "Admin": admin}
	if admin && f.PK != 0 {
		data["Base"] = adminAppURL(f.PK)
		data["Live"] = liveGrants(h.d.Counter.CountClient(c.Request.Context(), f.StoredClientID))
	}
	h.render(c, status, "app_form", data)
}

// changedFields names the fields of an application an edit changed (a
// new secret by name only).
func changedFields(old, cur clients.Client, newSecret bool) []string {
	var out []string
	for _, f := range []struct {
		name    string
		changed bool
	}{{"name", old.Name != cur.Name}, {"client_id", old.ClientID != cur.ClientID}, {"client_secret", newSecret},
		{"client_type", old.Type != cur.Type}, {"grant_types", old.GrantTypesRaw != cur.GrantTypesRaw},
		{"redirect_uris", old.RedirectURIsRaw != cur.RedirectURIsRaw}, {"scopes", old.ScopesRaw != cur.ScopesRaw},
		{"skip_authorization", old.SkipAuthorization != cur.SkipAuthorization}} {
		if f.changed {
			out = append(out, f.name)
		}
	}
	return out
}

const myAppsURL = "/o/applications/"

func myAppURL(id int64) string { return myAppsURL + strconv.FormatInt(id, 10) + "/" }

// appCrumbs are the breadcrumbs of the user's application pages.
func appCrumbs(items ...crumb) []crumb {
	return append([]crumb{{"Your applications", myAppsURL}}, items...)
}

func (h *Handler) appList(c *gin.Context) {
	u, ok := h.requireUser(c)
	if !ok {
		return
	}
	apps, _, err := h.d.Clients.Store().List(c.Request.Context(), clients.ListQuery{UserID: u.ID, Limit: 500})
	if err != nil {
		h.unavailable(c, err)
		return
	}
	h.render(c, http.StatusOK, "app_list", gin.H{"Title": "Your applications", "Apps": apps})
}

// secretStash names the new client secret kept for the page after
// registration.
const secretStash = "client-secret"

func (h *Handler) appRegister(c *gin.Context) {
	u, ok := h.requireUser(c)
	if !ok {
		return
	}
	const title = "Register a new application"
	crumbs := appCrumbs(crumb{Name: "Register"})
	if c.Request.Method == http.MethodGet {
		secret := clients.GenerateSecret()
		h.renderAppForm(c, http.StatusOK, title, crumbs, appForm{ClientID: clients.GenerateClientID(),
			ClientSecret: secret, SecretMark: h.mac("secret", secret), ClientType: clients.Confidential,
			Grants: []string{clients.GrantAuthorizationCode}, Errors: formErrors{}},
			"/o/applications/register/", false)
		return
	}
	form := readAppForm(c, false)
	cl := clients.Client{UserID: sql.NullInt64{Int64: u.ID, Valid: true}}
	if errs := h.apply(form, &cl); len(errs) > 0 {
		form.Errors = errs
		h.renderAppForm(c, http.StatusBadRequest, title, crumbs, form, "/o/applications/register/", false)
		return
	}
	ctx := c.Request.Context()
	if err := h.d.Clients.Store().Create(ctx, &cl); err != nil {
		if isValidation(err) {
			field, msg := clientError(err)
			form.Errors = formErrors{field: {msg}}
			h.renderAppForm(c, http.StatusBadRequest, title, crumbs, form, "/o/applications/register/", false)
			return
		}
		h.unavailable(c, err)
		return
	}
	h.d.Clients.Forget(cl.ClientID)
	if cl.Type == clients.Confidential {
		// The secret is shown once, on the page this redirects to (so a
		// reload never posts the form again); it is stored hashed, and
		// kept for that page sealed under the session's id.
		sid := c.MustGet(keySID).(string)
		if err := h.stashSealed(ctx, sid, secretStash, secretStash, strconv.FormatInt(cl.ID, 10)+":"+form.ClientSecret, 10*time.Minute); err != nil {
			h.unavailable(c, err)
			return
		}
	}
	h.flash(c, fmt.Sprintf("The application “%s” was registered.", cl.Name))
	c.Redirect(http.StatusSeeOther, myAppURL(cl.ID))
}

// takeSecret returns the secret registration stashed for application id,
// once.
func (h *Handler) takeSecret(c *gin.Context, id int64) string {
	sid, ok := c.Get(keySID)
	if !ok {
		return ""
	}
	v, ok, err := h.takeSealed(c.Request.Context(), sid.(string), secretStash, secretStash)
	if err != nil || !ok {
		return ""
	}
	pk, secret, _ := strings.Cut(v, ":")
	if pk != strconv.FormatInt(id, 10) {
		return ""
	}
	return secret
}

// isValidation reports whether err is the user's (a conflict or an invalid
// field), not a database failure.
func isValidation(err error) bool {
	for _, v := range []error{clients.ErrClientIDTaken, clients.ErrInvalidClientID, clients.ErrInvalidType, clients.ErrInvalidRedirect,
		clients.ErrRedirectRequired, clients.ErrPublicClientCredentials, clients.ErrInvalidGrant} {
		if errors.Is(err, v) {
			return true
		}
	}
	return false
}

// ownApp loads the application :id of the signed-in user (404 otherwise).
func (h *Handler) ownApp(c *gin.Context) (accounts.User, clients.Client, bool) {
	u, ok := h.requireUser(c)
	if !ok {
		return u, clients.Client{}, false
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		h.notFound(c)
		return u, clients.Client{}, false
	}
	cl, err := h.d.Clients.Store().ByID(c.Request.Context(), id)
	if errors.Is(err, clients.ErrNotFound) || err == nil && (!cl.UserID.Valid || cl.UserID.Int64 != u.ID) {
		h.notFound(c)
		return u, clients.Client{}, false
	}
	if err != nil {
		h.unavailable(c, err)
		return u, clients.Client{}, false
	}
	return u, cl, true
}

func (h *Handler) appDetail(c *gin.Context) {
	_, cl, ok := h.ownApp(c)
	if !ok {
		return
	}
	data := gin.H{"Title": cl.Name, "Crumbs": appCrumbs(crumb{Name: cl.Name}), "App": cl, "GrantLabels": grantLabels}
	if secret := h.takeSecret(c, cl.ID); secret != "" {
		data["Secret"], data["Script"] = secret, "copy.js"
	}
	h.render(c, http.StatusOK, "app_detail", data)
}

func (h *Handler) appUpdate(c *gin.Context) {
	_, cl, ok := h.ownApp(c)
	if !ok {
		return
	}
	h.editApp(c, cl, myAppURL(cl.ID)+"update/", false)
}

// editApp is the update form of the user's and the admin's pages.
func (h *Handler) editApp(c *gin.Context, cl clients.Client, action string, admin bool) {
	title := "Change application " + cl.Name
	crumbs := appCrumbs(crumb{cl.Name, myAppURL(cl.ID)}, crumb{Name: "Change"})
	if admin {
		crumbs = adminCrumbs(crumb{"Applications", appsURL}, crumb{Name: cl.Name})
	}
	if c.Request.Method == http.MethodGet {
		h.renderAppForm(c, http.StatusOK, title, crumbs, formFromClient(cl), action, admin)
		return
	}
	form := readAppForm(c, admin)
	form.PK, form.StoredClientID = cl.ID, cl.ClientID
	if !admin {
		form.Scopes, form.SkipAuthorization = cl.ScopesRaw, cl.SkipAuthorization
	}
	before := cl
	if errs := h.apply(form, &cl); len(errs) > 0 {
		form.Errors = errs
		h.renderAppForm(c, http.StatusBadRequest, title, crumbs, form, action, admin)
		return
	}
	ctx := c.Request.Context()
	if err := h.d.Clients.Store().Update(ctx, &cl); err != nil {
		if isValidation(err) {
			field, msg := clientError(err)
			form.Errors = formErrors{field: {msg}}
			h.renderAppForm(c, http.StatusBadRequest, title, crumbs, form, action, admin)
			return
		}
		h.unavailable(c, err)
		return
	}
	if err := h.d.Lifecycle.ClientChanged(background(c), before, cl); err != nil {
		h.unavailable(c, err)
		return
	}
	if admin {
		fields := changedFields(before, cl, form.ClientSecret != "")
		msg := "Changed."
		if slices.ContainsFunc(fields, func(f string) bool { return f != "name" && f != "skip_authorization" }) {
			// lifecycle.ClientChanged ended them (what they were issued on changed)
			msg = "Changed what its tokens were issued on: every token of the application was revoked."
		}
		if !h.record(c, audit.Application, cl.ID, cl.Name, audit.Change, msg, fields...) {
			return
		}
	}
	h.flash(c, fmt.Sprintf("The application “%s” was changed successfully.", cl.Name))
	if admin {
		c.Redirect(http.StatusSeeOther, appsURL)
		return
	}
	c.Redirect(http.StatusSeeOther, myAppURL(cl.ID))
}

func (h *Handler) appDelete(c *gin.Context) {
	_, cl, ok := h.ownApp(c)
	if !ok {
		return
	}
	if c.Request.Method == http.MethodGet {
		h.confirmDeleteApp(c, cl, myAppURL(cl.ID), myAppURL(cl.ID), appCrumbs(crumb{cl.Name, myAppURL(cl.ID)}, crumb{Name: "Delete"}))
		return
	}
	if h.deleteClient(c, cl) {
		c.Redirect(http.StatusSeeOther, myAppsURL)
	}
}

// confirmDeleteApp asks before an application is deleted, saying what
// goes with it; the form posts to base+"delete/".
func (h *Handler) confirmDeleteApp(c *gin.Context, cl clients.Client, base, back string, crumbs []crumb) {
	h.confirm(c, confirmation{Title: "Delete application " + cl.Name, Crumbs: crumbs,
		Question: "Are you sure you want to delete the application “" + cl.Name + "”?",
		Effects: []string{"Every access and refresh token issued to it is revoked at once, on every resource server.",
			"Its client id " + cl.ClientID + " stops working, and the users' consents to it are removed."},
		Action: base + "delete/", Back: back, Button: "Yes, delete"})
}

// deleteClient removes the row first (no new tokens can be minted), then
// revokes every token of the client, which publishes the event.
func (h *Handler) deleteClient(c *gin.Context, cl clients.Client) bool {
	ctx := background(c)
	if err := h.d.Clients.Store().Delete(ctx, cl.ClientID); err != nil && !errors.Is(err, clients.ErrNotFound) {
		h.unavailable(c, err)
		return false
	}
	if err := h.d.Lifecycle.ClientDeleted(ctx, cl.ClientID); err != nil {
		h.unavailable(c, err)
		return false
	}
	h.flash(c, fmt.Sprintf("The application “%s” was deleted, and its tokens revoked.", cl.Name))
	return true
}

// scopeLines describes a space-separated scope for people.
func (h *Handler) scopeLines(raw string) []scopeLine {
	var out []scopeLine
	for _, s := range strings.Fields(raw) {
		d := h.d.ScopeNames[s]
		if d == "" {
			d = s
		}
		out = append(out, scopeLine{Name: s, Description: d})
	}
	return out
}

// grantLine is one application the user has authorized.
type grantLine struct {
	Client clients.Client
	Scopes []scopeLine
}

func (h *Handler) grantList(c *gin.Context) {
	u, ok := h.requireUser(c)
	if !ok {
		return
	}
	cs, err := h.d.Clients.Store().Consents(c.Request.Context(), u.ID)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	lines := make([]grantLine, len(cs))
	for i, g := range cs {
		lines[i] = grantLine{Client: g.Client, Scopes: h.scopeLines(g.Scope)}
	}
	h.render(c, http.StatusOK, "grants", gin.H{"Title": "Authorized applications", "Grants": lines})
}

func (h *Handler) grantDelete(c *gin.Context) {
	u, ok := h.requireUser(c)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		h.notFound(c)
		return
	}
	ctx := c.Request.Context()
	cl, err := h.d.Clients.Store().ByID(ctx, id)
	if errors.Is(err, clients.ErrNotFound) {
		h.notFound(c)
		return
	}
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if c.Request.Method == http.MethodGet {
		h.confirm(c, confirmation{Title: "Revoke access of " + cl.Name, Crumbs: []crumb{{"Authorized applications", "/o/authorized_tokens/"}, {Name: cl.Name}},
			Question: "Are you sure you want to revoke the access of “" + cl.Name + "”?",
			Effects:  []string{"Its tokens for your account stop working at once, and it must ask for your consent again."},
			Action:   "/o/authorized_tokens/" + strconv.FormatInt(cl.ID, 10) + "/delete/", Back: "/o/authorized_tokens/", Button: "Yes, revoke"})
		return
	}
	if err := h.d.Clients.Store().RevokeConsent(ctx, u.ID, cl.ID); err != nil {
		h.unavailable(c, err)
		return
	}
	if err := h.d.Lifecycle.ApplicationRevoked(background(c), u.ID, cl.ClientID); err != nil {
		h.unavailable(c, err)
		return
	}
	h.flash(c, fmt.Sprintf("The access of “%s” was revoked.", cl.Name))
	c.Redirect(http.StatusSeeOther, "/o/authorized_tokens/")
}
