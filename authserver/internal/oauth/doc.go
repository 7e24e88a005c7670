// Package oauth is the protocol core of the auth server: client
// authentication (RFC 6749 §2.3.1), the token endpoint and its grants
// (password, client_credentials, refresh_token; RFC 6749 §4.3, §4.4, §6),
// introspection (RFC 7662), revocation (RFC 7009) and server metadata
// (RFC 8414). Each grant is split into parse, validate and issue steps that
// take typed values, so they are tested without HTTP; package httpapi binds
// requests to them. The stores it needs are declared here as small
// interfaces and implemented by packages clients, accounts, tokens and
// throttle.
package oauth
