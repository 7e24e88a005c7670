// Package wire holds the JSON shapes that cross the network between a client,
// the auth server and a resource server: the token response (RFC 6749 §5.1),
// the error response (RFC 6749 §5.2) and the introspection response
// (RFC 7662 §2.2), and the body of both services' /readyz. Field order
// follows Django OAuth Toolkit 1.7, whose tutorial clients Portcullis serves
// unchanged.
package wire
