// Package httpapi turns HTTP into calls on the auth server's packages: it
// owns the Gin engine, its routes (every one with and without the trailing
// slash, never redirected, and HEAD wherever GET: Engine), the cross-cutting middleware (request IDs, security
// headers, body limits, access logs that never carry a credential), and the
// Django REST framework shapes of the /users/ endpoints. Only cmd imports it.
package httpapi
