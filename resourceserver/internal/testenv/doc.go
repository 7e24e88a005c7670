// Package testenv gives tests their databases: a fresh SQLite file always,
// and a fresh PostgreSQL schema on TEST_DATABASE_URL when it is set. An unset
// variable skips the test with a loud message, except under CI=true, where a
// missing service fails it.
package testenv
