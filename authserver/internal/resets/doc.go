// Package resets keeps password reset tokens: single-use, expiring, and
// stored only as their SHA-256 in Redis, as Django's password reset keeps
// none and OWASP's Forgot Password Cheat Sheet asks. A token is bound to
// the user's password at issue (a mark the caller makes), so that a reset
// or change of the password voids every older link.
package resets
