package oauth

import (
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
)

// The OpenID Provider's paths, which are Django OAuth Toolkit's, so that
// a relying party moving from DOT needs no change.
const (
	PathDiscovery = "/o/.well-known/openid-configuration/"
	PathJWKS      = "/o/.well-known/jwks.json"
	PathUserInfo  = "/o/userinfo/"
	PathLogout    = "/o/logout/"
)

// Discovery is the OpenID Provider metadata (OpenID Connect Discovery 1.0
// §3): the RFC 8414 document, with the same endpoints and values, plus the
// OpenID Connect fields.
type Discovery struct {
	Metadata
	UserinfoEndpoint                 string   `json:"userinfo_endpoint"`
	EndSessionEndpoint               string   `json:"end_session_endpoint"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ResponseModesSupported           []string `json:"response_modes_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	PromptValuesSupported            []string `json:"prompt_values_supported"`
	ClaimsParameterSupported         bool     `json:"claims_parameter_supported"`
	RequestParameterSupported        bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported     bool     `json:"request_uri_parameter_supported"`
}

// Discovery describes the OpenID Provider: base is the server's public
// URL (ISSUER_URL), under which the endpoints live, and issuer the iss of
// its id tokens (usually the same; DOT's was base + "/o").
func (s *Server) Discovery(base, issuer string) Discovery {
	base = strings.TrimRight(base, "/")
	m := s.Metadata(base)
	m.Issuer = strings.TrimRight(issuer, "/")
	return Discovery{
		Metadata:                         m,
		UserinfoEndpoint:                 base + PathUserInfo,
		EndSessionEndpoint:               base + PathLogout,
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: append([]string(nil), signing.Algorithms...),
		ResponseModesSupported:           []string{"query"},
		ClaimsSupported:                  []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "email", "email_verified"},
		PromptValuesSupported:            append([]string(nil), PromptValues...),
	}
}

// jwksURI is where the signing keys are published, "" when the server is
// no OpenID Provider.
func (s *Server) jwksURI(base string) string {
	if !s.OpenIDEnabled() {
		return ""
	}
	return base + PathJWKS
}
