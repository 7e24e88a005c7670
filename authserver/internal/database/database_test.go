package database_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func open(t *testing.T, url string) *database.DB {
	t.Helper()
	db, err := database.Open(testenv.Context(t), url)
	if err != nil {
		t.Fatalf("Open(%q): %v", database.Redact(url), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpenRejectsUnsupportedURLs(t *testing.T) {
	for _, u := range []string{"mysql://root@localhost/x", "sqlite:", "sqlite://", "file:x.db", "postgres:/nope", "  postgres://x"} {
		t.Run(u, func(t *testing.T) {
			db, err := database.Open(testenv.Context(t), u)
			if db != nil {
				_ = db.Close()
			}
			if !errors.Is(err, database.ErrUnsupportedURL) {
				t.Fatalf("Open(%q) = %v, want ErrUnsupportedURL", u, err)
			}
		})
	}
}

func TestOpenSQLiteCreatesDirectory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nested", "deeper", "a.db")
	db := open(t, "sqlite:"+p)
	if db.Dialect != database.SQLite {
		t.Fatalf("dialect %q, want sqlite", db.Dialect)
	}
	if err := db.Migrate(testenv.Context(t)); err != nil {
		t.Fatal(err)
	}
	// The same file, opened again, sees the schema.
	db2 := open(t, "sqlite://"+p)
	var n int
	if err := db2.Get(&n, "SELECT COUNT(*) FROM users"); err != nil {
		t.Fatalf("second handle does not see the users table: %v", err)
	}
}

func TestOpenUnreachablePostgresIsCleanAndRedacted(t *testing.T) {
	u := "postgres://postgres:hunter2@127.0.0.1:1/x?sslmode=disable"
	db, err := database.Open(testenv.Context(t), u)
	if err == nil {
		_ = db.Close()
		t.Fatal("Open of an unreachable PostgreSQL succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error does not say where it tried to connect: %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"password hidden", "postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"no password", "postgres://u@h/db", "postgres://u@h/db"},
		{"sqlite untouched", "sqlite:/tmp/a.db", "sqlite:/tmp/a.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := database.Redact(tt.in); got != tt.want {
				t.Fatalf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

var tables = []string{"users", "groups", "user_groups", "clients"}

func TestMigrateIsIdempotent(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := testenv.Context(t)
			db := open(t, b.URL)
			for i := 0; i < 3; i++ {
				if err := db.Migrate(ctx); err != nil {
					t.Fatalf("Migrate #%d: %v", i+1, err)
				}
			}
			for _, tbl := range tables {
				var n int
				if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+tbl); err != nil {
					t.Errorf("table %s missing after migrate: %v", tbl, err)
				}
			}
			// A second connection (another process, in real life) migrating
			// the same database is a no-op too.
			db2 := open(t, b.URL)
			if err := db2.Migrate(ctx); err != nil {
				t.Fatalf("Migrate from a second handle: %v", err)
			}
			var applied int
			if err := db.GetContext(ctx, &applied, "SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0"); err != nil {
				t.Fatalf("goose version table: %v", err)
			}
			files, err := filepath.Glob(filepath.Join("migrations", string(db.Dialect), "*.sql"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no migration files for %s: %v", db.Dialect, err)
			}
			if applied != len(files) {
				t.Fatalf("goose recorded %d applied migrations, want %d (each applied once)", applied, len(files))
			}
		})
	}
}

// Several replicas starting at once (serve migrates first) must all come up.
func TestConcurrentMigrateOnPostgres(t *testing.T) {
	url := testenv.PostgresURL(t)
	ctx := testenv.Context(t)
	const n = 4
	dbs := make([]*database.DB, n)
	for i := range dbs {
		dbs[i] = open(t, url)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = dbs[i].Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Migrate: %v", i, err)
		}
	}
}

func TestIsUniqueViolation(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := testenv.Context(t)
			db := testenv.DB(t, b.URL)
			exec := func(q string, args ...any) error {
				_, err := db.ExecContext(ctx, db.Rebind(q), args...)
				return err
			}
			now := time.Now().UTC()
			mustExec := func(q string, args ...any) {
				t.Helper()
				if err := exec(q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			mustExec("INSERT INTO groups (name) VALUES (?)", "admins")
			mustExec("INSERT INTO users (email, email_key, password, date_joined) VALUES (?, ?, ?, ?)", "A@x.com", "a@x.com", "h", now)
			mustExec("INSERT INTO user_groups (user_id, group_id) VALUES (1, 1)")

			tests := []struct {
				name string
				err  error
				want bool
			}{
				{"nil", nil, false},
				{"plain error", errors.New("unique"), false},
				{"unique column", exec("INSERT INTO groups (name) VALUES (?)", "admins"), true},
				{"unique index", exec("INSERT INTO users (email, email_key, password, date_joined) VALUES (?, ?, ?, ?)", "a@X.com", "a@x.com", "h", now), true},
				{"composite primary key", exec("INSERT INTO user_groups (user_id, group_id) VALUES (1, 1)"), true},
				{"wrapped", fmt.Errorf("store: %w", exec("INSERT INTO groups (name) VALUES (?)", "admins")), true},
				{"not null", exec("INSERT INTO groups (name) VALUES (NULL)"), false},
				{"check", exec("INSERT INTO clients (client_id, name, client_type, grant_types, created_at, updated_at) VALUES ('c', 'n', 'weird', 'password', ?, ?)", now, now), false},
				{"foreign key", exec("INSERT INTO user_groups (user_id, group_id) VALUES (999, 1)"), false},
				{"syntax", exec("INSERT INTO nowhere VALUES (1)"), false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if tt.want && tt.err == nil {
						t.Fatal("the statement was expected to fail and did not")
					}
					if tt.name != "nil" && tt.name != "plain error" && tt.err == nil {
						t.Fatal("the statement was expected to fail and did not")
					}
					if got := database.IsUniqueViolation(tt.err); got != tt.want {
						t.Fatalf("IsUniqueViolation(%v) = %v, want %v", tt.err, got, tt.want)
					}
				})
			}
		})
	}
}

func TestIsNoRows(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := testenv.Context(t)
			db := testenv.DB(t, b.URL)
			var name string
			err := db.GetContext(ctx, &name, db.Rebind("SELECT name FROM groups WHERE id = ?"), 42)
			if !database.IsNoRows(err) {
				t.Fatalf("IsNoRows(%v) = false", err)
			}
			if database.IsNoRows(errors.New("x")) || database.IsNoRows(nil) {
				t.Fatal("IsNoRows true for an unrelated error")
			}
		})
	}
}
