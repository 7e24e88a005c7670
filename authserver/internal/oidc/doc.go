// Package oidc is the OpenID Connect side of the authorization server: it
// remembers who authenticated, when and with which nonce for each
// authorization code and token family (in Redis, keyed by hashes), builds
// and signs id tokens (OpenID Connect Core 1.0 §2, §3.1.3.6, §12.2) and
// reads back the id tokens it issued when they come as id_token_hint.
package oidc
