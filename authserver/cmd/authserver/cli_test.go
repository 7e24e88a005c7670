package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

const strongPW = "S3cure-Passw0rd!x"

// envFor is a getenv for run: the database, cheap argon2id, and extra.
func envFor(dbURL string, extra ...string) func(string) string {
	m := map[string]string{
		"DATABASE_URL":      dbURL,
		"ARGON2_TIME":       "1",
		"ARGON2_MEMORY_KIB": "64",
		"ARGON2_THREADS":    "1",
		"LOG_LEVEL":         "error",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return func(k string) string { return m[k] }
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, getenv func(string) string, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	code := run(testenv.Context(t), args, stdin, &out, &errb, getenv)
	r := result{code, out.String(), errb.String()}
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
			t.Fatalf("%v: output shows a panic:\n%s", args, s)
		}
	}
	return r
}

func openDB(t *testing.T, url string) *database.DB {
	t.Helper()
	db, err := database.Open(testenv.Context(t), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func userByEmail(t *testing.T, url, email string) accounts.User {
	t.Helper()
	u, err := accounts.NewStore(openDB(t, url)).ByEmail(testenv.Context(t), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func checkSuperuser(t *testing.T, url, email, password string) {
	t.Helper()
	u := userByEmail(t, url, email)
	if !u.IsStaff || !u.IsSuperuser || !u.IsActive {
		t.Fatalf("%s: is_staff=%v is_superuser=%v is_active=%v", email, u.IsStaff, u.IsSuperuser, u.IsActive)
	}
	h, err := passwords.NewHasher(passwords.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(context.Background(), u.Password, password); !ok || err != nil {
		t.Fatalf("stored hash does not verify the password: %v %v", ok, err)
	}
	if strings.Contains(u.Password, password) {
		t.Fatal("password stored in the clear")
	}
}

func TestCreateSuperuserThroughAPipe(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			input := strings.Join([]string{
				"Admin@Example.COM",
				"first-Choice-77", "second-Choice-77", // mismatch
				"password", "password", // too common
				"12345678", "12345678", // common and numeric
				strongPW, strongPW,
			}, "\n") + "\n"
			go func() {
				_, _ = pw.WriteString(input)
				_ = pw.Close()
			}()
			defer pr.Close()
			r := runCLI(t, envFor(b.URL), pr, "createsuperuser")
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
			if c := strings.Count(r.stdout, "Email: "); c != 1 {
				t.Errorf("asked for Email %d times, want 1:\n%s", c, r.stdout)
			}
			if c := strings.Count(r.stdout, "Password (again): "); c != 4 {
				t.Errorf("asked for Password (again) %d times, want 4:\n%s", c, r.stdout)
			}
			for _, want := range []string{"Error: Your passwords didn't match.", "This password is too common.", "This password is entirely numeric."} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if !strings.Contains(r.stdout, "Superuser created successfully.") {
				t.Errorf("stdout lacks the success line:\n%s", r.stdout)
			}
			for _, secret := range []string{strongPW, "first-Choice-77"} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("a password was printed")
				}
			}
			checkSuperuser(t, b.URL, "admin@example.com", strongPW)
		})
	}
}

func TestCreateSuperuserInteractiveRetries(t *testing.T) {
	url := testenv.SQLiteURL(t)
	if r := runCLI(t, envFor(url, "SUPERUSER_PASSWORD", strongPW), nil, "createsuperuser", "--email", "taken@example.com", "--no-input"); r.code != 0 {
		t.Fatalf("setup: %+v", r)
	}
	tests := []struct {
		name, input string
		code        int
		stderr      []string
		created     string
	}{
		{"blank email then a taken one then a good one",
			"\nTAKEN@example.com\n" + strongPW + "\n" + strongPW + "\nnew@example.com\n" + strongPW + "\n" + strongPW + "\n",
			0, []string{"Error: This field cannot be blank.", "Error: That email is already taken."}, "new@example.com"},
		{"an email of spaces asks for the Email again",
			"   \nspaces@example.com\n" + strongPW + "\n" + strongPW + "\n",
			0, []string{"Error: This field cannot be blank."}, "spaces@example.com"},
		{"invalid email re-prompts",
			"not-an-email\n" + strongPW + "\n" + strongPW + "\nok@example.com\n" + strongPW + "\n" + strongPW + "\n",
			0, []string{"Error: Enter a valid email address."}, "ok@example.com"},
		{"blank password",
			"blank@example.com\n\n\n" + strongPW + "\n" + strongPW + "\n",
			0, []string{"Error: Blank passwords aren't allowed."}, "blank@example.com"},
		{"input ends early", "early@example.com\n" + strongPW + "\n", 1, []string{"authserver:"}, ""},
		{"no input at all", "", 1, []string{"authserver:"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, envFor(url), strings.NewReader(tt.input), "createsuperuser")
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			if tt.created != "" {
				checkSuperuser(t, url, tt.created, strongPW)
			}
		})
	}
	if _, err := accounts.NewStore(openDB(t, url)).ByEmail(testenv.Context(t), "early@example.com"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("an interrupted prompt created a user: %v", err)
	}
}

func TestCreateSuperuserNoInput(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			tests := []struct {
				name   string
				env    []string
				args   []string
				code   int
				stderr string
			}{
				{"ok", []string{"SUPERUSER_PASSWORD", strongPW}, []string{"--email", "ops@Example.com", "--no-input"}, 0, ""},
				{"noinput alias, taken", []string{"SUPERUSER_PASSWORD", strongPW}, []string{"--email", "OPS@example.com", "--noinput"}, 1, "This field must be unique."},
				{"no password", nil, []string{"--email", "x@example.com", "--no-input"}, 1, "SUPERUSER_PASSWORD"},
				{"no email", []string{"SUPERUSER_PASSWORD", strongPW}, []string{"--no-input"}, 1, "--email"},
				{"weak password", []string{"SUPERUSER_PASSWORD", "password"}, []string{"--email", "weak@example.com", "--no-input"}, 1, "This password is too common."},
				{"invalid email", []string{"SUPERUSER_PASSWORD", strongPW}, []string{"--email", "nope", "--no-input"}, 1, "Enter a valid email address."},
				{"unknown flag", nil, []string{"--bogus"}, 2, "bogus"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := runCLI(t, envFor(b.URL, tt.env...), nil, append([]string{"createsuperuser"}, tt.args...)...)
					if r.code != tt.code {
						t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", r.code, tt.code, r.stdout, r.stderr)
					}
					if !strings.Contains(r.stderr, tt.stderr) {
						t.Fatalf("stderr lacks %q:\n%s", tt.stderr, r.stderr)
					}
					if strings.Contains(r.stdout+r.stderr, strongPW) {
						t.Fatal("the password was printed")
					}
				})
			}
			checkSuperuser(t, b.URL, "ops@example.com", strongPW)
			for _, e := range []string{"weak@example.com", "x@example.com"} {
				if _, err := accounts.NewStore(openDB(t, b.URL)).ByEmail(testenv.Context(t), e); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("refused superuser %s exists: %v", e, err)
				}
			}
		})
	}
}

func registry(t *testing.T, url string) *clients.Registry {
	t.Helper()
	h, err := passwords.NewHasher(passwords.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	return clients.NewRegistry(clients.NewStore(openDB(t, url)), h, time.Minute)
}

func TestCreateClientReproducesTheTutorial(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			args := []string{"createclient", "--name", "resource-server", "--client-id", "rs-id", "--client-secret", "rs-secret",
				"--client-type", "confidential", "--grant-types", "password,refresh_token"}
			r := runCLI(t, envFor(b.URL), nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "rs-secret") {
				t.Error("a chosen secret was echoed back")
			}
			reg := registry(t, b.URL)
			ctx := testenv.Context(t)
			c, err := reg.Authenticate(ctx, "rs-id", "rs-secret", true)
			if err != nil {
				t.Fatalf("rs-id/rs-secret does not authenticate: %v", err)
			}
			if c.Name != "resource-server" || c.Type != clients.Confidential || c.GrantTypesRaw != "password refresh_token" {
				t.Errorf("stored client %+v", c)
			}
			if !c.AllowsGrant(clients.GrantPassword) || !c.AllowsGrant(clients.GrantRefreshToken) || c.AllowsGrant(clients.GrantClientCredentials) {
				t.Errorf("grants %q", c.GrantTypesRaw)
			}
			if c.SecretHash == "rs-secret" || strings.Contains(c.SecretHash, "rs-secret") || !strings.HasPrefix(c.SecretHash, "$argon2id$") {
				t.Errorf("stored secret hash %q", c.SecretHash)
			}
			var raw string
			db := openDB(t, b.URL)
			if err := db.GetContext(ctx, &raw, db.Rebind("SELECT secret_hash FROM clients WHERE client_id = ?"), "rs-id"); err != nil || strings.Contains(raw, "rs-secret") {
				t.Errorf("secret_hash column %q, %v", raw, err)
			}
			if _, err := reg.Authenticate(ctx, "rs-id", "rs-secreT", true); !errors.Is(err, clients.ErrInvalidClient) {
				t.Errorf("wrong secret: %v", err)
			}

			// The same command again: refused, cleanly.
			r = runCLI(t, envFor(b.URL), nil, args...)
			if r.code == 0 || !strings.Contains(r.stderr, "already") {
				t.Fatalf("duplicate createclient: exit %d, stderr %s", r.code, r.stderr)
			}
		})
	}
}

var secretLine = regexp.MustCompile(`(?m)^client_secret: (\S+)$`)
var idLine = regexp.MustCompile(`(?m)^client_id: (\S+)$`)

func TestCreateClientGeneratesSecretOnce(t *testing.T) {
	url := testenv.SQLiteURL(t)
	r := runCLI(t, envFor(url), nil, "createclient", "--name", "machine", "--grant-types", "client-credentials")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	m, id := secretLine.FindStringSubmatch(r.stdout), idLine.FindStringSubmatch(r.stdout)
	if m == nil || id == nil {
		t.Fatalf("no client_id/client_secret line in:\n%s", r.stdout)
	}
	secret, clientID := m[1], id[1]
	if !strings.HasPrefix(secret, clients.SecretPrefix) {
		t.Errorf("generated secret %q lacks the prefix", secret)
	}
	reg := registry(t, url)
	c, err := reg.Authenticate(testenv.Context(t), clientID, secret, true)
	if err != nil {
		t.Fatalf("the printed secret does not authenticate: %v", err)
	}
	if !strings.HasPrefix(c.SecretHash, "hmac-sha256$") || strings.Contains(c.SecretHash, secret) {
		t.Errorf("generated secret stored as %q", c.SecretHash)
	}
	if c.GrantTypesRaw != clients.GrantClientCredentials {
		t.Errorf("grants %q", c.GrantTypesRaw)
	}
}

func TestCreateClientRefusals(t *testing.T) {
	url := testenv.SQLiteURL(t)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no name", []string{"--grant-types", "password"}, 2},
		{"no grants", []string{"--name", "x"}, 2},
		{"unknown flag", []string{"--name", "x", "--grant-types", "password", "--nope"}, 2},
		{"public with a secret", []string{"--name", "x", "--client-type", "public", "--client-secret", "s", "--grant-types", "password"}, 1},
		{"public client_credentials", []string{"--name", "x", "--client-type", "public", "--grant-types", "client_credentials"}, 1},
		{"bad type", []string{"--name", "x", "--client-type", "secret", "--grant-types", "password"}, 1},
		{"implicit", []string{"--name", "x", "--grant-types", "implicit"}, 2},
		{"code without redirect", []string{"--name", "x", "--grant-types", "authorization_code"}, 1},
		{"relative redirect", []string{"--name", "x", "--grant-types", "authorization_code", "--redirect-uris", "/cb"}, 1},
		{"client id with a colon", []string{"--name", "x", "--client-id", "a:b", "--grant-types", "password"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, envFor(url), nil, append([]string{"createclient"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if strings.TrimSpace(r.stderr) == "" {
				t.Fatal("refused without a message")
			}
			if secretLine.MatchString(r.stdout) {
				t.Fatal("printed a secret for a client it did not create")
			}
		})
	}
	var n int
	if err := openDB(t, url).Get(&n, "SELECT COUNT(*) FROM clients"); err != nil || n != 0 {
		t.Fatalf("%d clients stored (%v), want 0", n, err)
	}
}

func TestCreateClientPublic(t *testing.T) {
	url := testenv.SQLiteURL(t)
	r := runCLI(t, envFor(url), nil, "createclient", "--name", "spa", "--client-id", "spa-id", "--client-type", "public",
		"--grant-types", "authorization_code", "--redirect-uris", "http://localhost:3000/cb")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if secretLine.MatchString(r.stdout) {
		t.Fatal("a public client got a secret")
	}
	c, err := registry(t, url).Authenticate(testenv.Context(t), "spa-id", "", false)
	if err != nil || c.SecretHash != "" || c.RedirectURIsRaw != "http://localhost:3000/cb" {
		t.Fatalf("public client %+v, %v", c, err)
	}
}

func TestMigrate(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for i := 0; i < 2; i++ {
				r := runCLI(t, envFor(b.URL), nil, "migrate")
				if r.code != 0 || !strings.Contains(r.stdout, "Migrations applied ("+b.Name+")") {
					t.Fatalf("migrate #%d: exit %d\n%s\n%s", i+1, r.code, r.stdout, r.stderr)
				}
			}
			var n int
			if err := openDB(t, b.URL).Get(&n, "SELECT COUNT(*) FROM users"); err != nil {
				t.Fatalf("users table missing: %v", err)
			}
		})
	}
}

func TestDatabaseDownIsACleanError(t *testing.T) {
	const down = "postgres://postgres:hunter2@127.0.0.1:1/x?sslmode=disable"
	tests := [][]string{
		{"migrate"},
		{"createsuperuser", "--email", "a@example.com", "--no-input"},
		{"createclient", "--name", "x", "--grant-types", "password"},
	}
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			r := runCLI(t, envFor(down, "SUPERUSER_PASSWORD", strongPW), nil, args...)
			if r.code == 0 {
				t.Fatalf("exit 0 against a database that is down")
			}
			if !strings.HasPrefix(r.stderr, "authserver: ") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 2 {
				t.Errorf("stderr is not one clean message:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, "127.0.0.1:1") {
				t.Errorf("stderr does not say which database:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr leaks the database password:\n%s", r.stderr)
			}
		})
	}
	t.Run("brief's exact URL", func(t *testing.T) {
		r := runCLI(t, envFor("postgres://postgres@127.0.0.1:1/x?sslmode=disable"), nil, "migrate")
		if r.code == 0 || r.stderr == "" {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestUsageAndConfig(t *testing.T) {
	url := testenv.SQLiteURL(t)
	tests := []struct {
		name   string
		env    func(string) string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"help", envFor(url), []string{"help"}, 0, "createsuperuser", ""},
		{"unknown command", envFor(url), []string{"frobnicate"}, 2, "", "unknown command"},
		{"bad argon memory", envFor(url, "ARGON2_MEMORY_KIB", "1"), []string{"migrate"}, 2, "", "ARGON2_MEMORY_KIB"},
		{"bad port", envFor(url, "PORT", "http"), []string{"migrate"}, 2, "", "PORT"},
		{"bad eviction override", envFor(url, "REDIS_ALLOW_EVICTION", "yes please"), []string{"migrate"}, 2, "", "REDIS_ALLOW_EVICTION"},
		{"unsupported database URL", envFor("mysql://x"), []string{"migrate"}, 1, "", "DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.env, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout %s\nstderr %s", r.code, tt.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestHelpHasNoSideEffects: every command answers -h and --help with its
// usage on stdout and exit 0, without reading the configuration (a broken
// one does not matter), creating the database or serving.
func TestHelpHasNoSideEffects(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "never.db")
	env := envFor("sqlite:"+dbFile, "PORT", "not-a-port")
	for _, cmd := range []string{"serve", "migrate", "createsuperuser", "createclient", "version"} {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(cmd+" "+flag, func(t *testing.T) {
				r := runBounded(t, env, cmd, flag)
				if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: authserver "+cmd) || r.stderr != "" {
					t.Fatalf("exit %d, want 0 with the usage on stdout\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
				}
			})
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		if r := runBounded(t, env, args...); r.code != 0 || !strings.Contains(r.stdout, "createclient") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	if _, err := os.Stat(dbFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("help created the database file (%v)", err)
	}
}

// runBounded is runCLI for a command that must return by itself: one that
// started serving instead fails the test rather than hanging it.
func runBounded(t *testing.T, env func(string) string, args ...string) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- runCLI(t, env, nil, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(20 * time.Second):
		t.Fatalf("%v did not return: it serves instead of printing help", args)
		return result{}
	}
}

func TestNoArgumentsPrintsUsage(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "never.db")
	r := runBounded(t, envFor("sqlite:"+dbFile))
	if r.code != 2 || !strings.Contains(r.stderr, "usage: authserver <command>") || !strings.Contains(r.stderr, "serve") {
		t.Fatalf("exit %d, want 2 with the usage on stderr\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(dbFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no arguments created the database file (%v)", err)
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, envFor("mysql://not-read"), nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "authserver ") || !strings.Contains(r.stdout, "revision ") ||
		!strings.Contains(r.stdout, "module github.com/portcullis-oauth/portcullis/authserver") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, envFor("x"), nil, "version", "extra"); r.code != 2 {
		t.Fatalf("version extra: exit %d, want 2", r.code)
	}
}

func TestCreateClientNamesTheProblem(t *testing.T) {
	url := testenv.SQLiteURL(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no flags", nil, []string{"missing --name and --grant-types"}},
		{"no name", []string{"--grant-types", "password"}, []string{"missing --name"}},
		{"no grant types", []string{"--name", "x"}, []string{"missing --grant-types"}},
		{"a made-up grant type", []string{"--name", "x", "--grant-types", "password,telepathy"},
			[]string{`"telepathy"`, "authorization_code, password, client_credentials, refresh_token"}},
		{"a made-up grant type alone", []string{"--grant-types", "telepathy"}, []string{`"telepathy"`, "refresh_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, envFor(url), nil, append([]string{"createclient"}, tc.args...)...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstderr %s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
}
