package oauth

import "strings"

// Metadata is the RFC 8414 authorization server metadata document.
type Metadata struct {
	Issuer                                    string   `json:"issuer"`
	AuthorizationEndpoint                     string   `json:"authorization_endpoint"`
	TokenEndpoint                             string   `json:"token_endpoint"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	JWKSURI                                   string   `json:"jwks_uri,omitempty"`
	DeviceAuthorizationEndpoint               string   `json:"device_authorization_endpoint,omitempty"`
	ScopesSupported                           []string `json:"scopes_supported"`
	ResponseTypesSupported                    []string `json:"response_types_supported"`
	GrantTypesSupported                       []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported"`
	ServiceDocumentation                      string   `json:"service_documentation,omitempty"`
}

// Metadata describes what this server really does, rooted at issuer (an
// absolute URL without a trailing slash).
func (s *Server) Metadata(issuer string) Metadata {
	issuer = strings.TrimRight(issuer, "/")
	auth := []string{"client_secret_basic", "client_secret_post", "none"}
	return Metadata{
		Issuer:                                    issuer,
		AuthorizationEndpoint:                     issuer + "/o/authorize/",
		TokenEndpoint:                             issuer + "/o/token/",
		IntrospectionEndpoint:                     issuer + "/o/introspect/",
		RevocationEndpoint:                        issuer + "/o/revoke_token/",
		JWKSURI:                                   s.jwksURI(issuer),
		DeviceAuthorizationEndpoint:               s.deviceURI(issuer),
		ScopesSupported:                           append([]string(nil), s.cfg.Scopes...),
		ResponseTypesSupported:                    []string{"code"},
		CodeChallengeMethodsSupported:             []string{"S256"},
		GrantTypesSupported:                       s.GrantTypes(),
		TokenEndpointAuthMethodsSupported:         auth,
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "bearer"},
		RevocationEndpointAuthMethodsSupported:    auth,
	}
}
