package testenv

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/lib/pq" // the PostgreSQL driver for schema set-up

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// Backend is one database a contract suite runs against.
type Backend struct {
	Name string
	URL  string // a DATABASE_URL
}

// Backends returns SQLite (a fresh file) always, and PostgreSQL (a fresh
// schema, dropped when the test ends) when TEST_DATABASE_URL is set. Without
// it, a subtest "postgres" is skipped (failed under CI=true), naming it.
func Backends(t *testing.T) []Backend {
	t.Helper()
	b := []Backend{{Name: "sqlite", URL: SQLiteURL(t)}}
	if u := PostgresURLIfSet(t); u != "" {
		b = append(b, Backend{Name: "postgres", URL: u})
	}
	return b
}

// SQLiteURL returns a DATABASE_URL for a fresh SQLite file in t.TempDir().
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
}

// PostgresURL returns a DATABASE_URL for a fresh schema on TEST_DATABASE_URL,
// skipping (failing under CI=true) when it is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return freshSchema(t, servicetest.Require(t, "TEST_DATABASE_URL"))
}

// PostgresURLIfSet is PostgresURL, but returns "" instead of skipping t.
// What did not run shows as a skipped subtest "postgres" naming
// TEST_DATABASE_URL (a failed one under CI=true), so that make test's
// summary lists it.
func PostgresURLIfSet(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Run("postgres", func(t *testing.T) { servicetest.Require(t, "TEST_DATABASE_URL") })
		return ""
	}
	return freshSchema(t, base)
}

func freshSchema(t testing.TB, base string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close()
	schema := "t_" + Prefix()[1:9]
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("TEST_DATABASE_URL is set but PostgreSQL refused CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
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
