package clients_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
)

func TestNormalizeGrant(t *testing.T) {
	tests := []struct{ in, want string }{
		{"authorization_code", clients.GrantAuthorizationCode},
		{"authorization-code", clients.GrantAuthorizationCode},
		{"Authorization code", clients.GrantAuthorizationCode},
		{"password", clients.GrantPassword},
		{"Resource owner password-based", clients.GrantPassword},
		{"client_credentials", clients.GrantClientCredentials},
		{"client-credentials", clients.GrantClientCredentials},
		{"Client credentials", clients.GrantClientCredentials},
		{" refresh_token ", clients.GrantRefreshToken},
		{"refresh-token", clients.GrantRefreshToken},
		{"implicit", ""},
		{"openid-hybrid", ""},
		{"", ""},
		{"urn:ietf:params:oauth:grant-type:device_code", clients.GrantDeviceCode},
		{"device-code", clients.GrantDeviceCode},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := clients.NormalizeGrant(tt.in)
			if tt.want == "" {
				if !errors.Is(err, clients.ErrInvalidGrant) {
					t.Fatalf("NormalizeGrant(%q) = %q, %v; want ErrInvalidGrant", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeGrant(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	base := func(mod func(*clients.Client)) clients.Client {
		c := clients.Client{ClientID: "rs-id", Name: " resource-server ", Type: clients.Confidential, GrantTypesRaw: "password,refresh_token"}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	tests := []struct {
		name       string
		c          clients.Client
		err        error
		grants     string // normalised GrantTypesRaw, when err is nil
		redirects  string
		scopes     string
		wantName   string
		wantPublic bool
	}{
		{name: "tutorial application", c: base(nil), grants: "password refresh_token", wantName: "resource-server"},
		{name: "DOT spelling client-credentials", c: base(func(c *clients.Client) { c.GrantTypesRaw = "client-credentials" }), grants: "client_credentials"},
		{name: "DOT spelling authorization-code with redirect", c: base(func(c *clients.Client) {
			c.GrantTypesRaw = "authorization-code"
			c.RedirectURIsRaw = "http://localhost:8000/noexist/callback"
		}), grants: "authorization_code", redirects: "http://localhost:8000/noexist/callback"},
		{name: "space separated and duplicates", c: base(func(c *clients.Client) { c.GrantTypesRaw = "password  password,refresh-token" }), grants: "password refresh_token"},
		{name: "scopes normalised", c: base(func(c *clients.Client) { c.ScopesRaw = "read,write  introspection" }), grants: "password refresh_token", scopes: "read write introspection"},
		{name: "several redirect URIs", c: base(func(c *clients.Client) {
			c.GrantTypesRaw = "authorization_code"
			c.RedirectURIsRaw = "https://a.example/cb\nhttps://b.example/cb?x=1,2 com.example.app:/oauth2redirect https://a.example/cb"
		}), grants: "authorization_code", redirects: "https://a.example/cb https://b.example/cb?x=1,2 com.example.app:/oauth2redirect"},
		{name: "public password client", c: base(func(c *clients.Client) { c.Type = clients.Public }), grants: "password refresh_token", wantPublic: true},

		{name: "public client_credentials refused", c: base(func(c *clients.Client) {
			c.Type = clients.Public
			c.GrantTypesRaw = "password,client-credentials"
		}), err: clients.ErrPublicClientCredentials},
		{name: "unknown grant", c: base(func(c *clients.Client) { c.GrantTypesRaw = "password,implicit" }), err: clients.ErrInvalidGrant},
		{name: "no grant", c: base(func(c *clients.Client) { c.GrantTypesRaw = " , " }), err: clients.ErrInvalidGrant},
		{name: "authorization_code without redirect", c: base(func(c *clients.Client) { c.GrantTypesRaw = "authorization_code" }), err: clients.ErrRedirectRequired},
		{name: "relative redirect", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "/callback" }), err: clients.ErrInvalidRedirect},
		{name: "redirect with fragment", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "https://a.example/cb#x" }), err: clients.ErrInvalidRedirect},
		{name: "redirect with empty fragment", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "https://a.example/cb#" }), err: clients.ErrInvalidRedirect},
		{name: "http redirect without host", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "http:///cb" }), err: clients.ErrInvalidRedirect},
		{name: "https redirect without host", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "https:///cb" }), err: clients.ErrInvalidRedirect},
		{name: "javascript redirect", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "javascript:alert(document.cookie)" }), err: clients.ErrInvalidRedirect},
		{name: "data redirect", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "data:text/html;base64" }), err: clients.ErrInvalidRedirect},
		{name: "file redirect", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "file:///etc/passwd" }), err: clients.ErrInvalidRedirect},
		{name: "JavaScript redirect, upper case", c: base(func(c *clients.Client) { c.RedirectURIsRaw = "JAVASCRIPT:alert(1)" }), err: clients.ErrInvalidRedirect},
		{name: "bad type", c: base(func(c *clients.Client) { c.Type = "secret" }), err: clients.ErrInvalidType},
		{name: "empty type", c: base(func(c *clients.Client) { c.Type = "" }), err: clients.ErrInvalidType},
		{name: "empty client id", c: base(func(c *clients.Client) { c.ClientID = "" }), err: clients.ErrInvalidClientID},
		{name: "client id with colon", c: base(func(c *clients.Client) { c.ClientID = "a:b" }), err: clients.ErrInvalidClientID},
		{name: "client id with space", c: base(func(c *clients.Client) { c.ClientID = "a b" }), err: clients.ErrInvalidClientID},
		{name: "client id with newline", c: base(func(c *clients.Client) { c.ClientID = "a\nb" }), err: clients.ErrInvalidClientID},
		{name: "client id non-ASCII", c: base(func(c *clients.Client) { c.ClientID = "clïent" }), err: clients.ErrInvalidClientID},
		{name: "client id too long", c: base(func(c *clients.Client) { c.ClientID = strings.Repeat("x", 101) }), err: clients.ErrInvalidClientID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			err := c.Validate()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Validate() = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if c.GrantTypesRaw != tt.grants {
				t.Errorf("grants %q, want %q", c.GrantTypesRaw, tt.grants)
			}
			if c.RedirectURIsRaw != tt.redirects {
				t.Errorf("redirects %q, want %q", c.RedirectURIsRaw, tt.redirects)
			}
			if c.ScopesRaw != tt.scopes {
				t.Errorf("scopes %q, want %q", c.ScopesRaw, tt.scopes)
			}
			if tt.wantName != "" && c.Name != tt.wantName {
				t.Errorf("name %q, want %q", c.Name, tt.wantName)
			}
			if c.IsPublic() != tt.wantPublic {
				t.Errorf("IsPublic() = %v", c.IsPublic())
			}
			// Validate is idempotent on its own output.
			again := c
			if err := again.Validate(); err != nil || again != c {
				t.Errorf("second Validate changed the client or failed: %v", err)
			}
		})
	}
}

func TestClientAccessors(t *testing.T) {
	c := clients.Client{GrantTypesRaw: "password refresh_token", RedirectURIsRaw: "https://a/cb https://b/cb", ScopesRaw: "read write"}
	if !c.AllowsGrant("password") || !c.AllowsGrant("refresh_token") || c.AllowsGrant("client_credentials") || c.AllowsGrant("pass") {
		t.Error("AllowsGrant wrong")
	}
	if got := c.RedirectURIs(); len(got) != 2 || got[1] != "https://b/cb" {
		t.Errorf("RedirectURIs = %q", got)
	}
	if got := c.Scopes(); len(got) != 2 || got[0] != "read" {
		t.Errorf("Scopes = %q", got)
	}
	if (clients.Client{}).Scopes() != nil && len((clients.Client{}).Scopes()) != 0 {
		t.Error("empty scopes not empty")
	}
}
