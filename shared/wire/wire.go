package wire

// TokenType is the only token type Portcullis issues (RFC 6750).
const TokenType = "Bearer"

// TokenResponse is the successful token endpoint answer (RFC 6749 §5.1).
// RefreshToken is empty, and so omitted, for grants that issue none.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// IDToken is the OpenID Connect id token (Core §3.1.3.3), with the
	// openid scope only.
	IDToken string `json:"id_token,omitempty"`
}

// Error is the OAuth error body (RFC 6749 §5.2). Description is optional.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Introspection is the RFC 7662 §2.2 response. An inactive token is encoded
// as exactly {"active": false}: every other field is omitted when empty.
// The first five fields keep DOT's order; TokenType, Iat and Sub are the
// RFC's optional extras.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud,omitempty"`
}

// Inactive is the one answer for every unknown, expired, revoked or
// malformed token.
var Inactive = Introspection{}
