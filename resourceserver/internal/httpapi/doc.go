// Package httpapi assembles the resource server's HTTP surface on Gin: the
// request ID, access log, panic recovery and security headers every answer
// gets; the health probes; the protected /items/ routes behind the
// introspection middleware; and the /users/... BFF proxies. Only cmd
// imports it.
package httpapi
