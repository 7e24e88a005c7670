// Package ginauth adapts middleware.Verifier to Gin. The Identity lands in
// the request's context, so middleware.FromContext(c.Request.Context())
// works in Gin handlers and in plain net/http code they call alike.
package ginauth
