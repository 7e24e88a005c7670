// Package signing keeps the OpenID Connect signing keys: it generates them,
// stores them in the database with the private key sealed (AES-256-GCM)
// under the key-encryption key from KEY_ENCRYPTION_KEY, rotates them, signs
// id tokens with them (JWS, RFC 7515, through go-jose) and publishes their
// public halves as a JWK Set (RFC 7517 §5). A new key is published before it
// signs, and an old one stays published until the last id token it signed
// has expired (OpenID Connect Core 1.0 §10.1.1).
package signing
