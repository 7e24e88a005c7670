package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// djangoSQLite makes a small DOT 1.7 database (Django's auth_user) with
// users and one live token pair.
func djangoSQLite(t *testing.T, users int) string {
	t.Helper()
	ctx := testenv.Context(t)
	path := filepath.Join(t.TempDir(), "django.sqlite3")
	db, err := database.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ddl, err := os.ReadFile("../../internal/dotimport/testdata/dot17_auth_user.sql")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format("2006-01-02 15:04:05")
	later := time.Now().Add(time.Hour).UTC().Format("2006-01-02 15:04:05")
	for _, q := range []string{string(ddl),
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		 INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
		 SELECT '!unusable', 0, 'u' || i, '', '', 'u' || i || '@example.com', 0, 1, '` + now + `' FROM n`,
		`INSERT INTO oauth2_provider_application (client_id, redirect_uris, client_type, authorization_grant_type, client_secret, name,
		 skip_authorization, created, updated, algorithm) VALUES ('rs-id', '', 'confidential', 'password', 'rs-secret', 'rs', 0, '` + now + `', '` + now + `', '')`,
		`INSERT INTO oauth2_provider_accesstoken (token, expires, scope, application_id, user_id, created, updated)
		 VALUES ('DotAccess1', '` + later + `', 'read', 1, 1, '` + now + `', '` + now + `')`,
		`INSERT INTO oauth2_provider_refreshtoken (token, access_token_id, application_id, user_id, created, updated)
		 VALUES ('DotRefresh1', 1, 1, 1, '` + now + `', '` + now + `')`,
	} {
		var args []any
		if strings.Contains(q, "?") {
			args = append(args, users)
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	return "sqlite:" + path
}

// TestImportDOTProgressOnlyOnATerminal: rows per table with a bar go to
// stderr on a terminal, never elsewhere; the summary lines always go to
// stdout.
func TestImportDOTProgressOnlyOnATerminal(t *testing.T) {
	_, prefix := testenv.Redis(t)
	env := envFor(testenv.SQLiteURL(t), "REDIS_URL", servicetest.Require(t, "TEST_REDIS_URL"), "REDIS_PREFIX", prefix)
	from := djangoSQLite(t, 50)

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty on this machine: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	term := &terminal{t: t, ptmx: ptmx, tty: int(tty.Fd())}
	go term.collect(ptmx)

	var out bytes.Buffer
	if code := run(testenv.Context(t), []string{"import-dot", "--from", from}, strings.NewReader(""), &out, tty, env); code != 0 {
		t.Fatalf("exit %d; terminal:\n%q", code, term.output())
	}
	if !strings.Contains(out.String(), "users: read=50 created=50") || !strings.Contains(out.String(), "refresh_tokens: read=1 created=1") {
		t.Fatalf("stdout:\n%s", out.String())
	}
	term.waitFor("the users' bar", func() bool {
		return strings.Contains(term.output(), "users") && strings.Contains(term.output(), "50/50")
	})
	for _, secret := range []string{"DotAccess1", "DotRefresh1", "rs-secret"} {
		if strings.Contains(term.output()+out.String(), secret) {
			t.Fatalf("%q was shown", secret)
		}
	}

	out.Reset()
	var errb bytes.Buffer
	if code := run(testenv.Context(t), []string{"import-dot", "--from", from}, strings.NewReader(""), &out, &errb, env); code != 0 {
		t.Fatalf("exit %d:\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "users: read=50 created=0 updated=0 unchanged=50") {
		t.Fatalf("second run, stdout:\n%s", out.String())
	}
	if strings.Contains(errb.String(), "50/50") || strings.Contains(errb.String(), "\r") {
		t.Fatalf("progress on a stderr that is not a terminal:\n%q", errb.String())
	}
}
