package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// copyFile copies a SQLite database file.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestImportDOTBadInputs: a database that is not DOT's, a missing table or
// column, and an unreachable URL each give a clear message and a non-zero
// exit, and nothing is written.
func TestImportDOTBadInputs(t *testing.T) {
	base := servicetest.Require(t, "TEST_DATABASE_URL")
	djDir := t.TempDir()
	good := filepath.Join(djDir, "db.sqlite3")
	dj := newDjangoProject(t, "sqlite:"+good)
	dj.shell(t, `
from django.contrib.auth import get_user_model
from oauth2_provider.models import Application
get_user_model().objects.create_user('user1@email.com', 'testpass123')
Application.objects.create(name='resource-server', client_id='rs-id', client_secret='rs-secret', client_type='confidential', authorization_grant_type='password')
`)
	// A DOT database with a column dropped, and one with a table dropped.
	variant := func(name, sql string) string {
		p := filepath.Join(djDir, name+".sqlite3")
		copyFile(t, good, p)
		dj.run(t, "-c", fmt.Sprintf("import sqlite3; c = sqlite3.connect(%q); c.execute(%q); c.commit()", p, sql))
		return "sqlite:" + p
	}
	noColumn := variant("nocolumn", "ALTER TABLE oauth2_provider_accesstoken DROP COLUMN scope")
	noTable := variant("notable", "DROP TABLE oauth2_provider_refreshtoken")
	// A PostgreSQL database that is not Django's at all.
	notDOT := freshSchema(t, base)
	db, err := sql.Open("postgres", notDOT)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE customers (id BIGSERIAL PRIMARY KEY, name TEXT)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, tc := range []struct {
		name, from string
		want       []string
	}{
		{"not DOT", notDOT, []string{"not a Django OAuth Toolkit database", "no user table"}},
		{"missing column", noColumn, []string{`table "oauth2_provider_accesstoken" has no column "scope"`}},
		{"missing table", noTable, []string{`table "oauth2_provider_refreshtoken" is missing`}},
		{"unreachable postgres", "postgres://postgres@127.0.0.1:" + strconv.Itoa(freePort(t)) + "/django?sslmode=disable&connect_timeout=3",
			[]string{"cannot open the Django database", "connection refused"}},
		{"missing sqlite file", "sqlite:" + filepath.Join(djDir, "nonexistent.sqlite3"), []string{"no such file"}},
		{"not a database URL", "mysql://django@localhost/db", []string{"DATABASE_URL must start with"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := realBackend(t)
			out, errs, code := runImport(t, authEnv(b, nil), "--from", tc.from)
			if code == 0 {
				t.Fatalf("exit 0\nstdout:\n%s\nstderr:\n%s", out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine ") {
				t.Fatalf("panic:\n%s", errs)
			}
			if out != "" {
				t.Errorf("a failed import printed summaries:\n%s", out)
			}
			wantNothingWritten(t, b)
		})
	}

	t.Run("usage", func(t *testing.T) {
		b := realBackend(t)
		out, _, code := runImport(t, authEnv(b, nil), "--help")
		if code != 0 || !strings.Contains(out, "usage: authserver import-dot") || !strings.Contains(out, "-from") {
			t.Fatalf("--help: exit %d\n%s", code, out)
		}
		if _, errs, code := runImport(t, authEnv(b, nil)); code != 2 || !strings.Contains(errs, "missing --from") {
			t.Fatalf("no --from: exit %d\n%s", code, errs)
		}
		env := authEnv(b, nil)
		delete(env, "REDIS_URL")
		if _, errs, code := runImport(t, env, "--from", "sqlite:"+good); code != 1 || !strings.Contains(errs, "REDIS_URL is not set") {
			t.Fatalf("no REDIS_URL: exit %d\n%s", code, errs)
		}
	})
}

// wantNothingWritten checks that the backend holds no user, group or
// client, and no Redis key.
func wantNothingWritten(t *testing.T, b backend) {
	t.Helper()
	db, err := sql.Open("postgres", b.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"users", "groups", "user_groups", "clients"} {
		var n int
		// The import migrates the target before it reads the source; a
		// failure before that leaves no tables at all.
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			if strings.Contains(err.Error(), "does not exist") {
				continue
			}
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d rows after a failed import", table, n)
		}
	}
	opt, err := redis.ParseURL(b.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), b.RedisPrefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("Redis keys after a failed import: %v", keys)
	}
}
