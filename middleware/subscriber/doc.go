// Package subscriber listens on the Redis channel where the auth server
// publishes revocation events (package revocation) and applies them to a
// middleware.Verifier's cache. Whenever the subscription is (re)established
// or lost, the whole cache is purged: events sent while nobody listened
// are lost, and an empty cache is always safe.
package subscriber
