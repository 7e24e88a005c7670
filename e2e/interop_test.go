package e2e

import (
	"context"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// backends runs f against the real services and against the embedded
// defaults, which must pass the same contract.
func backends(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("real", func(t *testing.T) { f(t, realBackend(t)) })
	t.Run("embedded", func(t *testing.T) { f(t, embeddedBackend(t)) })
}

func signup(t *testing.T, c *client, email, pw string) {
	t.Helper()
	r := c.do("POST", "/users/signup/", url.Values{"email": {email}, "password": {pw}, "password2": {pw}})
	expectStatus(t, r, 201)
}

// TestInteropGolangOAuth2 drives the server with golang.org/x/oauth2, a
// client nobody here wrote.
func TestInteropGolangOAuth2(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		// A 2 s access token is already "expired" for x/oauth2, which
		// refreshes 10 s early: every Token() call after the first refreshes.
		auth := startAuth(t, b, map[string]string{"ACCESS_TOKEN_LIFETIME": "2s"})
		c := newClient(t, auth.URL)
		signup(t, c, "interop@example.com", "correct horse battery")
		ctx := context.Background()

		conf := &oauth2.Config{
			ClientID: "rs-id", ClientSecret: "rs-secret",
			Endpoint: oauth2.Endpoint{TokenURL: auth.URL + "/o/token/", AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:   []string{"read", "write"},
		}
		tok, err := conf.PasswordCredentialsToken(ctx, "interop@example.com", "correct horse battery")
		if err != nil {
			t.Fatalf("PasswordCredentialsToken: %v", err)
		}
		if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
			t.Fatalf("token = %+v", tok)
		}
		if got := tok.Extra("scope"); got != "read write" {
			t.Fatalf("scope = %v", got)
		}

		// A TokenSource refreshes the expired token, and the refresh token rotates.
		src := conf.TokenSource(ctx, tok)
		fresh, err := src.Token()
		if err != nil {
			t.Fatalf("refresh through TokenSource: %v", err)
		}
		if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
			t.Fatal("TokenSource did not get a new, rotated token pair")
		}
		introspect := func(token string) map[string]any {
			r := c.do("POST", "/o/introspect/", url.Values{"token": {token}}, "Authorization", basicAuth("rs-id", "rs-secret"))
			expectStatus(t, r, 200)
			return r.JSON(t)
		}
		if introspect(fresh.AccessToken)["active"] != true {
			t.Fatal("refreshed access token is not active")
		}
		if introspect(tok.AccessToken)["active"] != false {
			t.Fatal("the rotated-away access token is still active")
		}

		// client_credentials, with credentials in the body this time.
		cc := clientcredentials.Config{ClientID: "cc-id", ClientSecret: "cc-secret", TokenURL: auth.URL + "/o/token/",
			Scopes: []string{"read"}, AuthStyle: oauth2.AuthStyleInParams}
		ctok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client credentials: %v", err)
		}
		if ctok.RefreshToken != "" {
			t.Fatal("client_credentials must not issue a refresh token")
		}
		got := introspect(ctok.AccessToken)
		if got["active"] != true || got["client_id"] != "cc-id" || got["username"] != nil || got["scope"] != "read" {
			t.Fatalf("introspection of a client token = %v", got)
		}
		if exp, _ := got["exp"].(float64); time.Unix(int64(exp), 0).Before(time.Now()) {
			t.Fatalf("exp %v is in the past", got["exp"])
		}
	})
}
