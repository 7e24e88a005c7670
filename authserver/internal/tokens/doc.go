// Package tokens issues, looks up, rotates and revokes opaque OAuth2 tokens
// kept in Redis. A token is 256 random bits plus a random family id, base64url,
// behind a type prefix secret scanners can match ("pcat_" access, "pcrt_"
// refresh); Redis holds only SHA-256(token), under keys that expire with the
// token, and every key of one token family shares a Redis Cluster hash slot.
//
// Refresh tokens rotate on every use and a replayed (rotated-away) refresh
// token revokes its whole family (RFC 9700 §4.14, RFC 6749 §10.4). Every
// revocation is published as a revocation.Event so resource servers can evict
// cached introspection answers (RFC 7662, RFC 7009). Revoking every token
// of a user or a client bumps an epoch that issue, rotation and lookup
// compare atomically (epoch.go): the index walk that follows is cleanup.
package tokens
