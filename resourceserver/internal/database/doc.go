// Package database opens the resource server's SQL database from DATABASE_URL
// (PostgreSQL through lib/pq, or a SQLite file through the pure-Go
// modernc.org/sqlite) and applies its embedded goose migrations, one set per
// dialect. Stores write each query once, with ? placeholders, and run it
// through sqlx's Rebind.
package database
