// Package introspecttest is a fake RFC 7662 introspection server for the
// tests of services that use package middleware: register tokens with
// their answers, count the calls, demand client credentials, and make the
// server fail (any status, 429 with Retry-After, slow answers) on demand.
// Hydra, Keycloak, DOT and Portcullis render the answers those servers give
// for each Kind of token, to check that only access tokens pass.
package introspecttest
