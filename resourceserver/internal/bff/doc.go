// Package bff is the tutorial's "backend for frontend": /users/... endpoints
// that forward to the auth server, adding the resource server's own client
// credentials, so that a browser app never holds the client secret. Unlike
// the tutorial, the auth server's status code, Content-Type and body are
// passed through unchanged (an error is not turned into a 200), and an
// unreachable auth server is a 502 (504 on timeout) with a JSON detail.
package bff
