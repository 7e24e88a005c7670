// Package sessions keeps browser sessions server-side in Redis. The cookie
// holds a random 256-bit id; Redis stores only its SHA-256, with an idle
// expiry that every use slides and an absolute cap from creation (OWASP
// Session Management Cheat Sheet).
package sessions
