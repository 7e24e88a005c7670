// Package throttle limits failed password logins, per account and per
// client IP, with fixed-window counters in Redis (RFC 6749 §10.10 asks the
// server to guard against brute force). Callers name what they count with
// strings such as "acct:<email>" or "ip:<addr>"; only SHA-256 of that name
// reaches Redis, so no email is stored in clear.
package throttle
