// Package requestid gives every request an ID: the caller's X-Request-ID
// when it is sane, else a fresh random one. The ID is echoed in the response,
// kept in the request's context for logs, and set on the request's own
// header so that calls made on its behalf (introspection, BFF proxies) carry
// it to the auth server.
package requestid
