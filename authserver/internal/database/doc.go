// Package database opens the auth server's SQL database from DATABASE_URL
// (PostgreSQL through lib/pq, or a SQLite file through the pure-Go
// modernc.org/sqlite) and applies its embedded goose migrations, one set per
// dialect. Store packages write queries once, with ? placeholders, and run
// them through sqlx's Rebind. Every query refuses text no column can hold
// (a NUL byte, invalid UTF-8) before it reaches the driver: ErrInvalidText.
package database
