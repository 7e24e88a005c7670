// Package middleware protects net/http handlers with OAuth2 bearer tokens
// (RFC 6750) that it checks against an RFC 7662 introspection endpoint.
// Answers are cached under the token's SHA-256, never past the token's exp;
// concurrent misses for one token share one introspection call; a revocation
// subscriber (package subscriber) evicts entries the moment the auth server
// revokes them. Gin users take package ginauth; tests take introspecttest.
//
// This package imports only the standard library, golang.org/x/sync,
// golang-lru, otter and Portcullis' shared module: neither Gin nor a Redis
// client. Active answers live in an otter (W-TinyLFU) cache, so a sweep of
// tokens seen once cannot flush the ones in steady use.
package middleware
