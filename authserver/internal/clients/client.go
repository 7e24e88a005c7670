package clients

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Client types (RFC 6749 §2.1).
const (
	Confidential = "confidential"
	Public       = "public"
)

// Grant types, spelled as in RFC 6749.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	// GrantDeviceCode is the device authorization grant (RFC 8628 §3.4).
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// KnownGrants lists every grant type a client may be registered for.
var KnownGrants = []string{GrantAuthorizationCode, GrantPassword, GrantClientCredentials, GrantRefreshToken, GrantDeviceCode}

// Errors returned by this package.
var (
	ErrNotFound                = errors.New("clients: not found")
	ErrClientIDTaken           = errors.New("clients: client id already registered")
	ErrInvalidClient           = errors.New("clients: authentication failed")
	ErrInvalidType             = errors.New("clients: client type must be confidential or public")
	ErrInvalidGrant            = errors.New("clients: unknown grant type")
	ErrInvalidRedirect         = errors.New("clients: redirect URIs must be absolute URIs without a fragment")
	ErrRedirectRequired        = errors.New("clients: authorization_code needs at least one redirect URI")
	ErrInvalidClientID         = errors.New("clients: client id must be 1-100 printable ASCII characters without ':' or spaces")
	ErrPublicClientCredentials = errors.New("clients: a public client cannot use client_credentials")
	ErrInvalidAlgorithm        = errors.New("clients: algorithm must be RS256 or ES256")
	ErrInvalidPostLogout       = errors.New("clients: post logout redirect URIs must be absolute URIs without a fragment")
)

// Client is one registered application. SecretHash is never a secret.
type Client struct {
	ID                int64  `db:"id"`
	ClientID          string `db:"client_id"`
	Name              string `db:"name"`
	SecretHash        string `db:"secret_hash"`
	Type              string `db:"client_type"`
	GrantTypesRaw     string `db:"grant_types"`
	RedirectURIsRaw   string `db:"redirect_uris"`
	ScopesRaw         string `db:"scopes"`
	SkipAuthorization bool   `db:"skip_authorization"`
	// Algorithm signs the client's id tokens: RS256 (also when empty) or
	// ES256.
	Algorithm string `db:"algorithm"`
	// PostLogoutRedirectURIsRaw are where RP-initiated logout may send the
	// browser, space-separated, matched exactly.
	PostLogoutRedirectURIsRaw string        `db:"post_logout_redirect_uris"`
	UserID                    sql.NullInt64 `db:"user_id"`
	CreatedAt                 time.Time     `db:"created_at"`
	UpdatedAt                 time.Time     `db:"updated_at"`
	// Checked is the token store's revocation generation read before
	// this record was (Registry.CheckGenerations); not a column.
	Checked int64 `db:"-"`
}

// GrantTypes returns the grant types the client may use.
func (c Client) GrantTypes() []string { return strings.Fields(c.GrantTypesRaw) }

// AllowsGrant reports whether the client may use grant g.
func (c Client) AllowsGrant(g string) bool {
	for _, v := range c.GrantTypes() {
		if v == g {
			return true
		}
	}
	return false
}

// RedirectURIs returns the registered redirect URIs, matched exactly.
func (c Client) RedirectURIs() []string { return strings.Fields(c.RedirectURIsRaw) }

// PostLogoutRedirectURIs returns the registered post logout redirect URIs
// (OpenID Connect RP-Initiated Logout 1.0 §3.1), matched exactly.
func (c Client) PostLogoutRedirectURIs() []string { return strings.Fields(c.PostLogoutRedirectURIsRaw) }

// Scopes returns the scopes the client may ask for; empty means every
// configured scope.
func (c Client) Scopes() []string { return strings.Fields(c.ScopesRaw) }

// IsPublic reports whether the client has no secret (RFC 6749 §2.1).
func (c Client) IsPublic() bool { return c.Type == Public }

// NormalizeGrant maps DOT's spellings ("client-credentials",
// "authorization-code", "Resource owner password-based"...) to RFC 6749's.
func NormalizeGrant(g string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(g)) {
	case "authorization_code", "authorization-code", "authorization code":
		return GrantAuthorizationCode, nil
	case "password", "resource owner password-based":
		return GrantPassword, nil
	case "client_credentials", "client-credentials", "client credentials":
		return GrantClientCredentials, nil
	case "refresh_token", "refresh-token":
		return GrantRefreshToken, nil
	case GrantDeviceCode, "device_code", "device-code", "device code":
		return GrantDeviceCode, nil
	}
	return "", fmt.Errorf("%w %q; the valid ones are %s", ErrInvalidGrant, strings.TrimSpace(g), strings.Join(KnownGrants, ", "))
}

// Validate checks a client before it is stored, and normalises its lists.
func (c *Client) Validate() error {
	if c.ClientID == "" || len(c.ClientID) > 100 || strings.ContainsAny(c.ClientID, ": ") {
		return ErrInvalidClientID
	}
	for i := 0; i < len(c.ClientID); i++ {
		if c.ClientID[i] < 0x21 || c.ClientID[i] > 0x7e {
			return ErrInvalidClientID
		}
	}
	if c.Type != Confidential && c.Type != Public {
		return ErrInvalidType
	}
	var grants []string
	for _, part := range strings.Split(c.GrantTypesRaw, ",") {
		// A part is one grant in any spelling (DOT's display names have
		// spaces), or RFC names separated by spaces, as stored.
		names := []string{part}
		if _, err := NormalizeGrant(part); err != nil {
			names = strings.Fields(part)
		}
		for _, g := range names {
			n, err := NormalizeGrant(g)
			if err != nil {
				return err
			}
			grants = appendUnique(grants, n)
		}
	}
	if len(grants) == 0 {
		return ErrInvalidGrant
	}
	c.GrantTypesRaw = strings.Join(grants, " ")
	if c.Type == Public && c.AllowsGrant(GrantClientCredentials) {
		return ErrPublicClientCredentials
	}
	uris, err := redirectList(c.RedirectURIsRaw, ErrInvalidRedirect)
	if err != nil {
		return err
	}
	c.RedirectURIsRaw = strings.Join(uris, " ")
	logout, err := redirectList(c.PostLogoutRedirectURIsRaw, ErrInvalidPostLogout)
	if err != nil {
		return err
	}
	c.PostLogoutRedirectURIsRaw = strings.Join(logout, " ")
	switch c.Algorithm = strings.ToUpper(strings.TrimSpace(c.Algorithm)); c.Algorithm {
	case "", "RS256", "ES256":
	default:
		return ErrInvalidAlgorithm
	}
	if c.AllowsGrant(GrantAuthorizationCode) && len(uris) == 0 {
		return ErrRedirectRequired
	}
	c.ScopesRaw = strings.Join(strings.FieldsFunc(c.ScopesRaw, func(r rune) bool { return r == ',' || r == ' ' }), " ")
	c.Name = strings.TrimSpace(c.Name)
	return nil
}

// redirectList checks and de-duplicates white-space separated redirect URIs
// (as in DOT: a comma is legal inside a URI), returning bad for any that is
// not absolute, has a fragment or a scheme that is no client's.
func redirectList(raw string, bad error) ([]string, error) {
	var uris []string
	for _, u := range strings.Fields(raw) {
		p, err := url.Parse(u)
		if err != nil || !p.IsAbs() || p.Fragment != "" || strings.Contains(u, "#") || badRedirectScheme(p) {
			return nil, bad
		}
		uris = appendUnique(uris, u)
	}
	return uris, nil
}

// badRedirectScheme refuses http(s) URIs without a host, and schemes that
// run in the browser or read local files instead of reaching a client.
func badRedirectScheme(p *url.URL) bool {
	switch p.Scheme {
	case "http", "https":
		return p.Host == ""
	case "javascript", "data", "vbscript", "file", "blob":
		return true
	}
	return false
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
