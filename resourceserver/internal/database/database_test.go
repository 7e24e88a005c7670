package database

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, driver, dsnPrefix string
		dialect                      Dialect
		err                          error
	}{
		{"default is the SQLite file", "", "sqlite", "file:data/resourceserver.db?", SQLite, nil},
		{"sqlite path", "sqlite:/tmp/a.db", "sqlite", "file:/tmp/a.db?_pragma=busy_timeout", SQLite, nil},
		{"sqlite with slashes", "sqlite:///tmp/a.db", "sqlite", "file:/tmp/a.db?", SQLite, nil},
		{"sqlite own params kept", "sqlite:x.db?mode=ro", "sqlite", "file:x.db?mode=ro", SQLite, nil},
		{"postgres", "postgres://u@h/db", "postgres", "postgres://u@h/db", Postgres, nil},
		{"postgresql", "postgresql://u@h/db", "postgres", "postgresql://u@h/db", Postgres, nil},
		{"empty sqlite path", "sqlite:", "", "", "", ErrUnsupportedURL},
		{"mysql", "mysql://h/db", "", "", "", ErrUnsupportedURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			driver, dsn, d, err := parse(tt.url)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if driver != tt.driver || d != tt.dialect || len(dsn) < len(tt.dsnPrefix) || dsn[:len(tt.dsnPrefix)] != tt.dsnPrefix {
				t.Fatalf("got %q %q %q", driver, dsn, d)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"sqlite:/x.db", "sqlite:/x.db"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Redact(tt.in); got != tt.want {
				t.Fatalf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestOpenCreatesDirAndMigratesTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "nested", "dir", "rs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 2 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	var n int
	if err := db.GetContext(ctx, &n, `SELECT count(*) FROM items`); err != nil || n != 0 {
		t.Fatalf("items table: %d, %v", n, err)
	}
}
