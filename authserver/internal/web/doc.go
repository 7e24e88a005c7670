// Package web serves the browser pages: login and logout, the OAuth
// authorization endpoint with its consent page (RFC 6749 §4.1, RFC 7636),
// the user's application pages as in Django OAuth Toolkit, and the staff
// admin. Pages are html/template files embedded in the binary; none needs
// JavaScript. Every state-changing form carries a synchronizer CSRF token
// and passes net/http's CrossOriginProtection; every page sends a strict
// Content-Security-Policy.
package web
