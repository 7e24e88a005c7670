// Package web serves the browser pages: login and logout, the OAuth
// authorization endpoint with its consent page (RFC 6749 §4.1, RFC 7636),
// the user's application pages as in Django OAuth Toolkit, and the staff
// admin. Pages are html/template files embedded in the binary; none needs
// JavaScript. Every state-changing form carries a synchronizer CSRF token
// and passes net/http's CrossOriginProtection; every page sends a strict
// Content-Security-Policy. A browser that signed in to an account holds a
// signed device cookie for it (device.go), so that strangers' failed
// guesses, which lock the account, never lock its owner out.
package web
