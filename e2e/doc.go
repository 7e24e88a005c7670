// Package e2e drives the real Portcullis binaries over real HTTP, the way
// fosite's integration suite drives its server: it builds bin/authserver and
// bin/resourceserver, starts them as processes on free ports against real
// PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL) or the embedded
// defaults, and talks to them with golang.org/x/oauth2 and raw requests.
package e2e
