// Package web serves the browser pages: login and logout, the OAuth
// authorization endpoint with its consent page (RFC 6749 §4.1, RFC 7636),
// the user's application pages as in Django OAuth Toolkit, the user's own
// password change and password reset by e-mail, and the staff admin (lists
// with search, sorting, filters and numbered pages, bulk actions,
// confirmation pages, live grants with "revoke all", and the history of
// every admin change). Pages are html/template files embedded in the
// binary; none needs JavaScript (the secret page's copy button is one
// optional script file). Every state-changing form carries a synchronizer
// CSRF token and passes net/http's CrossOriginProtection; every page sends
// a strict Content-Security-Policy with nothing inline.
package web
