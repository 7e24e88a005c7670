// Package device keeps the pending requests of the OAuth 2.0 Device
// Authorization Grant (RFC 8628) in Redis: a device code and a user code
// per request, both stored only as SHA-256 hashes with a TTL, the user's
// decision, and the polling state. One Lua script per poll makes the
// interval check (slow_down, §3.5) and the single use of an approved code
// atomic, so that exactly one of several concurrent polls gets the tokens.
package device
