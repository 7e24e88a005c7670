// Package throttle limits password guessing, per account and per client IP,
// with fixed-window counters in Redis (RFC 6749 §10.10 asks the server to
// guard against brute force). An attempt is counted before the password is
// checked, atomically, so parallel guesses cannot slip past the limit
// between a check and a count; a successful login gives its attempt back.
// Callers name what they count with strings such as "acct:<EmailKey>" or
// "ip:<addr>" (LoginKeys); only SHA-256 of that name reaches Redis, so no
// email is stored in clear.
package throttle
