package introspecttest

import (
	"encoding/json"
	"fmt"

	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// Kind is the kind of token an answer describes.
type Kind int

// The kinds of token the shapes describe.
const (
	AccessToken  Kind = iota // what a resource server must accept
	RefreshToken             // never to be accepted as an access token
	OfflineToken             // Keycloak's offline refresh token
	IDToken                  // an OpenID Connect ID token (Keycloak introspects them)
)

// String names the kind: access, refresh, offline, id.
func (k Kind) String() string {
	switch k {
	case AccessToken:
		return "access"
	case RefreshToken:
		return "refresh"
	case OfflineToken:
		return "offline"
	case IDToken:
		return "id"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Claims fill the shapes. A zero field is left out where the server would
// leave it out.
type Claims struct {
	Subject  string
	Username string
	ClientID string
	Scope    string
	Exp, Iat int64 // seconds since the epoch
	Audience []string
}

// A Shape renders the body one server answers for an active token of a
// kind, for RegisterRaw. Hydra, Keycloak, DOT and Portcullis are Shapes.
type Shape func(Kind, Claims) string

// Hydra is Ory Hydra 2.x's answer (its oauth2.Introspection type, encoded
// by the admin introspection endpoint): token_use names the token
// ("access_token", "refresh_token"), token_type is "bearer" for an access
// token and empty otherwise. Hydra answers a refresh token as active even
// when the caller hints access_token. Hydra does not introspect ID tokens:
// for IDToken and OfflineToken it answers like for a refresh token (offline
// access in Hydra is a refresh token).
func Hydra(k Kind, c Claims) string {
	use, typ := "refresh_token", ""
	if k == AccessToken {
		use, typ = "access_token", "bearer"
	}
	aud := c.Audience
	if aud == nil {
		aud = []string{}
	}
	return mustJSON(struct {
		Active    bool           `json:"active"`
		Scope     string         `json:"scope,omitempty"`
		ClientID  string         `json:"client_id"`
		Subject   string         `json:"sub"`
		Exp       int64          `json:"exp"`
		Iat       int64          `json:"iat"`
		Nbf       int64          `json:"nbf"`
		Username  string         `json:"username,omitempty"`
		Audience  []string       `json:"aud"`
		Issuer    string         `json:"iss"`
		TokenType string         `json:"token_type"`
		TokenUse  string         `json:"token_use"`
		Ext       map[string]any `json:"ext,omitempty"`
	}{true, c.Scope, c.ClientID, c.Subject, c.Exp, c.Iat, c.Iat, c.Username, aud,
		"http://127.0.0.1:4444/", typ, use, nil})
}

// Keycloak is Keycloak's answer (realms/R/protocol/openid-connect/token/
// introspect): the token's own JWT claims, among them typ ("Bearer",
// "Refresh", "Offline", "ID"), plus client_id, username, token_type (the
// same word as typ) and active.
func Keycloak(k Kind, c Claims) string {
	typ := map[Kind]string{AccessToken: "Bearer", RefreshToken: "Refresh", OfflineToken: "Offline", IDToken: "ID"}[k]
	iss := "http://keycloak:8080/realms/portcullis"
	m := map[string]any{
		"active": true, "exp": c.Exp, "iat": c.Iat, "jti": "0b3c2f9e-5a77-4c1e-9d1a-6f0f3a1d2b4c",
		"iss": iss, "sub": c.Subject, "typ": typ, "azp": c.ClientID,
		"sid": "6d1f0c7e-2a3b-4c5d-8e9f-0a1b2c3d4e5f", "client_id": c.ClientID,
		"username": c.Username, "preferred_username": c.Username, "token_type": typ,
	}
	switch k {
	case AccessToken:
		m["aud"] = audience(c.Audience, "account")
		m["scope"] = c.Scope
		m["acr"] = "1"
		m["realm_access"] = map[string]any{"roles": []string{"offline_access", "default-roles-portcullis"}}
		m["email_verified"] = false
	case RefreshToken, OfflineToken:
		m["aud"] = iss
		m["scope"] = c.Scope
	case IDToken:
		m["aud"] = c.ClientID
		m["at_hash"] = "yJ8xq3sN0QjWcP4bR1Lm2A"
		m["nonce"] = "n-0S6_WzA2Mj"
	}
	return mustJSON(m)
}

// DOT is Django OAuth Toolkit's answer: active, scope, exp, client_id and
// username, nothing that names the token's kind, because DOT looks up only
// access tokens: any other kind is {"active": false}.
func DOT(k Kind, c Claims) string {
	if k != AccessToken {
		return `{"active": false}`
	}
	return mustJSON(wire.Introspection{Active: true, Scope: c.Scope, Exp: c.Exp, ClientID: c.ClientID, Username: c.Username})
}

// Portcullis is the Portcullis auth server's answer: token_type "Bearer"
// for an access token, "refresh_token" for a refresh token (answered only
// when the caller hints refresh_token); it issues no other kind.
func Portcullis(k Kind, c Claims) string {
	ans := wire.Introspection{Active: true, Scope: c.Scope, Exp: c.Exp, ClientID: c.ClientID,
		Username: c.Username, TokenType: wire.TokenType, Iat: c.Iat, Sub: c.Subject}
	switch k {
	case AccessToken:
	case RefreshToken:
		ans.TokenType = "refresh_token"
	default:
		return `{"active": false}`
	}
	return mustJSON(ans)
}

func audience(aud []string, def string) any {
	switch len(aud) {
	case 0:
		return def
	case 1:
		return aud[0]
	}
	return aud
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings, numbers, slices and maps of them always marshal
	}
	return string(b)
}
