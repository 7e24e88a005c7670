// Package embeddedredis is the in-process Redis (miniredis) the auth server
// starts when REDIS_URL is unset, as under `make run`. It keeps its data
// across restarts, as the SQLite file beside it does: a snapshot file,
// written atomically (a temporary file, fsync, rename) periodically and on
// Close, is restored with its TTLs on Start. TTLs run on the wall clock.
package embeddedredis
