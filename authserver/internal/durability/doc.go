// Package durability checks that the Redis holding the auth server's tokens
// keeps them. An evicting maxmemory-policy silently drops tokens, and with
// them the tombstones of rotated refresh tokens that detect replay
// (RFC 9700 §4.14), so it is refused unless explicitly allowed; a Redis with
// neither AOF nor RDB persistence loses every token on restart, so it is
// warned about. See https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/.
package durability
