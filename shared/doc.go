// Package shared is the wire contract between the Portcullis auth server and
// every resource server: RFC 6749/7662 wire types (package wire), scope sets
// (package scope) and the revocation event format (package revocation).
// It imports nothing else of Portcullis and has no Gin, Redis or SQL in it.
package shared
