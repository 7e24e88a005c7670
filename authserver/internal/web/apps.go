package web

import (
	"crypto/subtle"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

// grantChoice is one option of the "Authorization grant type" select, as
// DOT names them (Implicit is not offered: RFC 9700 §2.1.2).
type grantChoice struct{ Value, Label string }

var grantChoices = []grantChoice{
	{"authorization-code", "Authorization code"},
	{"password", "Resource owner password-based"},
	{"client-credentials", "Client credentials"},
	{"device-code", "Device code"},
}

// appForm is the register/update form's state.
type appForm struct {
	Name, ClientID, ClientSecret, SecretMark, ClientType, Grant, RedirectURIs, Algorithm, Scopes string
	PostLogoutRedirectURIs                                                                       string
	SkipAuthorization                                                                            bool
	Errors                                                                                       []string
}

func mainGrant(c clients.Client) string {
	for _, g := range c.GrantTypes() {
		switch g {
		case clients.GrantAuthorizationCode:
			return "authorization-code"
		case clients.GrantPassword:
			return "password"
		case clients.GrantClientCredentials:
			return "client-credentials"
		case clients.GrantDeviceCode:
			return "device-code"
		}
	}
	return ""
}

func formFromClient(c clients.Client) appForm {
	return appForm{Name: c.Name, ClientID: c.ClientID, ClientType: c.Type, Grant: mainGrant(c),
		RedirectURIs: strings.Join(c.RedirectURIs(), "\n"), Algorithm: c.Algorithm, Scopes: c.ScopesRaw, SkipAuthorization: c.SkipAuthorization,
		PostLogoutRedirectURIs: strings.Join(c.PostLogoutRedirectURIs(), "\n")}
}

func readAppForm(c *gin.Context, admin bool) appForm {
	f := c.Request.PostForm
	out := appForm{Name: f.Get("name"), ClientID: strings.TrimSpace(f.Get("client_id")), ClientSecret: f.Get("client_secret"),
		SecretMark: f.Get("secret_mark"), ClientType: f.Get("client_type"), Grant: f.Get("authorization_grant_type"),
		RedirectURIs: f.Get("redirect_uris"), Algorithm: f.Get("algorithm"), PostLogoutRedirectURIs: f.Get("post_logout_redirect_uris")}
	if admin {
		out.Scopes = f.Get("scopes")
		out.SkipAuthorization = f.Get("skip_authorization") != ""
	}
	return out
}

// apply copies the form onto c, hashing a new secret. A secret the server
// generated for the form (its mark matches) gets the fast hash, one the
// user typed gets argon2id. An empty secret keeps the old one.
func (h *Handler) apply(form appForm, c *clients.Client) []string {
	var errs []string
	valid := false
	for _, g := range grantChoices {
		valid = valid || g.Value == form.Grant
	}
	if !valid {
		errs = append(errs, "Select a valid authorization grant type.")
	}
	if strings.TrimSpace(form.Name) == "" {
		errs = append(errs, "Name: this field is required.")
	}
	c.Name, c.ClientID, c.Type, c.GrantTypesRaw, c.RedirectURIsRaw = form.Name, form.ClientID, form.ClientType, form.Grant, form.RedirectURIs
	c.Algorithm, c.PostLogoutRedirectURIsRaw = form.Algorithm, form.PostLogoutRedirectURIs
	c.ScopesRaw, c.SkipAuthorization = form.Scopes, form.SkipAuthorization
	if form.ClientSecret != "" {
		generated := subtle.ConstantTimeCompare([]byte(h.mac("secret", form.ClientSecret)), []byte(form.SecretMark)) == 1
		hash, err := h.d.Clients.HashSecret(form.ClientSecret, generated)
		if err != nil {
			errs = append(errs, "The secret could not be stored.")
		}
		c.SecretHash = hash
	}
	if c.Type == clients.Public {
		c.SecretHash = ""
	} else if c.SecretHash == "" {
		errs = append(errs, "Client secret: a confidential client needs a secret.")
	}
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			errs = append(errs, clientError(err))
		}
	}
	return errs
}

func clientError(err error) string {
	switch {
	case errors.Is(err, clients.ErrClientIDTaken):
		return "Application with this client id already exists."
	case errors.Is(err, clients.ErrInvalidClientID):
		return "Client id: 1-100 printable ASCII characters without ':' or spaces."
	case errors.Is(err, clients.ErrInvalidType):
		return "Select a valid client type."
	case errors.Is(err, clients.ErrInvalidRedirect):
		return "Redirect URIs must be absolute URIs without a fragment (no javascript:, data: or file:)."
	case errors.Is(err, clients.ErrRedirectRequired):
		return "The authorization code grant needs at least one redirect URI."
	case errors.Is(err, clients.ErrPublicClientCredentials):
		return "A public client cannot use the client credentials grant."
	case errors.Is(err, clients.ErrInvalidGrant):
		return "Select a valid authorization grant type."
	case errors.Is(err, clients.ErrInvalidAlgorithm):
		return "Select a valid algorithm."
	case errors.Is(err, clients.ErrInvalidPostLogout):
		return "Post logout redirect URIs must be absolute URIs without a fragment (no javascript:, data: or file:)."
	}
	return "The application could not be saved."
}

func (h *Handler) renderAppForm(c *gin.Context, status int, title string, f appForm, action string, admin bool) {
	h.render(c, status, "app_form", gin.H{"Title": title, "Form": f, "Grants": grantChoices, "Action": action, "Admin": admin})
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

func (h *Handler) appRegister(c *gin.Context) {
	u, ok := h.requireUser(c)
	if !ok {
		return
	}
	if c.Request.Method == http.MethodGet {
		secret := clients.GenerateSecret()
		h.renderAppForm(c, http.StatusOK, "Register a new application", appForm{ClientID: clients.GenerateClientID(),
			ClientSecret: secret, SecretMark: h.mac("secret", secret), ClientType: clients.Confidential, Grant: "authorization-code"},
			"/o/applications/register/", false)
		return
	}
	form := readAppForm(c, false)
	cl := clients.Client{UserID: sql.NullInt64{Int64: u.ID, Valid: true}}
	if errs := h.apply(form, &cl); len(errs) > 0 {
		form.Errors = errs
		h.renderAppForm(c, http.StatusBadRequest, "Register a new application", form, "/o/applications/register/", false)
		return
	}
	if err := h.d.Clients.Store().Create(c.Request.Context(), &cl); err != nil {
		if isValidation(err) {
			form.Errors = []string{clientError(err)}
			h.renderAppForm(c, http.StatusBadRequest, "Register a new application", form, "/o/applications/register/", false)
			return
		}
		h.unavailable(c, err)
		return
	}
	h.d.Clients.Forget(cl.ClientID)
	secret := ""
	if cl.Type == clients.Confidential {
		secret = form.ClientSecret
	}
	// The secret is on this page once; it is stored hashed.
	h.render(c, http.StatusCreated, "app_detail", gin.H{"Title": cl.Name, "App": cl, "Secret": secret})
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
	if _, cl, ok := h.ownApp(c); ok {
		h.render(c, http.StatusOK, "app_detail", gin.H{"Title": cl.Name, "App": cl})
	}
}

func (h *Handler) appUpdate(c *gin.Context) {
	_, cl, ok := h.ownApp(c)
	if !ok {
		return
	}
	h.editApp(c, cl, "/o/applications/"+strconv.FormatInt(cl.ID, 10)+"/update/", false)
}

// editApp is the update form of the user's and the admin's pages.
func (h *Handler) editApp(c *gin.Context, cl clients.Client, action string, admin bool) {
	title := "Edit application " + cl.Name
	if c.Request.Method == http.MethodGet {
		h.renderAppForm(c, http.StatusOK, title, formFromClient(cl), action, admin)
		return
	}
	form := readAppForm(c, admin)
	if !admin {
		form.Scopes, form.SkipAuthorization = cl.ScopesRaw, cl.SkipAuthorization
	}
	before := cl
	if errs := h.apply(form, &cl); len(errs) > 0 {
		form.Errors = errs
		h.renderAppForm(c, http.StatusBadRequest, title, form, action, admin)
		return
	}
	ctx := c.Request.Context()
	if err := h.d.Clients.Store().Update(ctx, &cl); err != nil {
		if isValidation(err) {
			form.Errors = []string{clientError(err)}
			h.renderAppForm(c, http.StatusBadRequest, title, form, action, admin)
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
		c.Redirect(http.StatusSeeOther, "/admin/applications/")
		return
	}
	c.Redirect(http.StatusSeeOther, "/o/applications/"+strconv.FormatInt(cl.ID, 10)+"/")
}

func (h *Handler) appDelete(c *gin.Context) {
	_, cl, ok := h.ownApp(c)
	if !ok {
		return
	}
	if c.Request.Method == http.MethodGet {
		h.render(c, http.StatusOK, "confirm", gin.H{"Title": "Delete application", "What": cl.Name,
			"Action": "/o/applications/" + strconv.FormatInt(cl.ID, 10) + "/delete/", "Back": "/o/applications/"})
		return
	}
	if h.deleteClient(c, cl) {
		c.Redirect(http.StatusSeeOther, "/o/applications/")
	}
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
	return true
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
	h.render(c, http.StatusOK, "grants", gin.H{"Title": "Authorized applications", "Grants": cs, "Names": h.d.ScopeNames})
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
		h.render(c, http.StatusOK, "confirm", gin.H{"Title": "Revoke access", "What": "the access of " + cl.Name,
			"Action": "/o/authorized_tokens/" + strconv.FormatInt(cl.ID, 10) + "/delete/", "Back": "/o/authorized_tokens/"})
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
	c.Redirect(http.StatusSeeOther, "/o/authorized_tokens/")
}
