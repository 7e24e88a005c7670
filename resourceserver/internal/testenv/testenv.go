package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/lib/pq" // the postgres driver for the schema admin connection

	"github.com/portcullis-oauth/portcullis/resourceserver/internal/database"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// SQLiteURL returns a DATABASE_URL for a fresh SQLite file in t's temp dir.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "rs.db")
}

// PostgresURL creates a fresh schema on TEST_DATABASE_URL, drops it when the
// test ends, and returns a URL whose connections use it (search_path).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := servicetest.Require(t, "TEST_DATABASE_URL")
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "rs_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("TEST_DATABASE_URL is set but PostgreSQL refused CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenMigrated opens rawURL, migrates it, and closes it when the test ends.
func OpenMigrated(t testing.TB, rawURL string) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, rawURL)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	// Registered after PostgresURL's cleanup, so it runs first: the pool
	// closes before the schema is dropped.
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// Backend is one database a contract suite runs against.
type Backend struct {
	Name string
	// Open returns a fresh, migrated database for one test.
	Open func(t testing.TB) *database.DB
}

// Backends lists SQLite and PostgreSQL. The PostgreSQL one skips (or fails
// under CI) when TEST_DATABASE_URL is unset.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", Open: func(t testing.TB) *database.DB { return OpenMigrated(t, SQLiteURL(t)) }},
		{Name: "postgres", Open: func(t testing.TB) *database.DB { return OpenMigrated(t, PostgresURL(t)) }},
	}
}
