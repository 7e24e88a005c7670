// Package clients holds the registered OAuth applications (RFC 6749 §2):
// their SQL store, how their secrets are hashed at rest, and an in-process
// Registry that authenticates clients (RFC 6749 §2.3.1) without a SQL query
// or a slow KDF on the hot path.
//
// A secret the server generates has 256 random bits, so a fast salted
// HMAC-SHA-256 is enough to store it. A secret a person chose is stored with
// argon2id, and its positive verification is cached in memory keyed by an
// HMAC (never the secret), so it costs one slow KDF per process per secret.
package clients
