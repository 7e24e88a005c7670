package e2e

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// BenchmarkImportDOT runs the real `authserver import-dot` on a generated
// Django database (the tutorial's schema, made by Django's own migrate on
// PostgreSQL) holding n users and n live access tokens, each with its
// refresh token, into a fresh schema and the benchmark's own redis-server.
// It reports rows per second (users plus token rows) and the import
// process's peak RSS; comparing n=10000 with n=100000 shows whether memory
// grows with the tables. Run it alone: go test -run '^$' -bench ImportDOT
// -benchtime 1x ./e2e/ (make bench does not run it).
func BenchmarkImportDOT(b *testing.B) {
	base := servicetest.Require(b, "TEST_DATABASE_URL")
	rs := startRedis(b)
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			src := freshSchema(b, base)
			newDjangoProject(b, src)
			fillDjango(b, src, n)
			rows := float64(3 * n) // users, access tokens, refresh tokens
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				env := map[string]string{
					"DATABASE_URL": freshSchema(b, base), "REDIS_URL": "redis://" + rs.addr(), "REDIS_PREFIX": "bench" + randHex(4) + ":",
					"ARGON2_MEMORY_KIB": "8192", "ARGON2_TIME": "1", "LOG_LEVEL": "error",
				}
				cmd := exec.Command(binary(b, "authserver"), "import-dot", "--from", src)
				cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
				for k, v := range env {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				b.StartTimer()
				start := time.Now()
				err := cmd.Run()
				elapsed := time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatalf("import-dot: %v\n%s%s", err, out.String(), errb.String())
				}
				if want := fmt.Sprintf("users: read=%d created=%d", n, n); !strings.Contains(out.String(), want) {
					b.Fatalf("summary lacks %q:\n%s", want, out.String())
				}
				if want := fmt.Sprintf("refresh_tokens: read=%d created=%d", n, n); !strings.Contains(out.String(), want) {
					b.Fatalf("summary lacks %q:\n%s", want, out.String())
				}
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
				b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
				b.StartTimer()
			}
		})
	}
}

// fillDjango fills the tutorial's migrated schema at dbURL with n users and
// n live token pairs of the tutorial's application, in SQL on the server.
func fillDjango(b *testing.B, dbURL string, n int) {
	b.Helper()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`INSERT INTO users_customuser (password, last_login, is_superuser, email, is_staff, is_active, date_joined)
		 SELECT 'pbkdf2_sha256$260000$benchsalt$' || md5(i::text), NULL, false, 'user' || i || '@bench.example', false, true, now()
		 FROM generate_series(1, $1) i`,
		`INSERT INTO oauth2_provider_application (client_id, redirect_uris, client_type, authorization_grant_type, client_secret,
		 name, user_id, skip_authorization, created, updated, algorithm)
		 VALUES ('rs-id', '', 'confidential', 'password', 'rs-secret', 'resource-server', NULL, false, now(), now(), '')`,
		`INSERT INTO oauth2_provider_accesstoken (token, expires, scope, application_id, user_id, created, updated)
		 SELECT substr(md5('a' || u.id), 1, 30), now() + interval '10 hours', 'read write', a.id, u.id, now(), now()
		 FROM users_customuser u, oauth2_provider_application a LIMIT $1`,
		`INSERT INTO oauth2_provider_refreshtoken (token, access_token_id, application_id, user_id, created, updated, revoked)
		 SELECT substr(md5('r' || t.id), 1, 30), t.id, t.application_id, t.user_id, now(), now(), NULL
		 FROM oauth2_provider_accesstoken t`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, n)
		}
		if _, err := db.Exec(q, args...); err != nil {
			b.Fatalf("fill the Django database: %v\n%s", err, q)
		}
	}
}
