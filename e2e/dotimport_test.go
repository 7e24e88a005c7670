package e2e

import (
	"bytes"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// The acceptance test of `authserver import-dot` against the real Django
// OAuth Toolkit: the tutorial's project on PostgreSQL and on SQLite, users,
// a group and applications made with manage.py, tokens from DOT's own
// /o/token/ under gunicorn; then the import, and the real Portcullis
// binaries.

// dotCounts is one summary line of import-dot.
type dotCounts struct {
	read, created, updated, unchanged, skipped, expired, revoked int
}

var countLine = regexp.MustCompile(`^(\w+): read=(\d+) created=(\d+) updated=(\d+) unchanged=(\d+) skipped=(\d+)(?: expired=(\d+) revoked=(\d+))?`)

// parseCounts reads every summary line of stdout, by table.
func parseCounts(t *testing.T, stdout string) map[string]dotCounts {
	t.Helper()
	out := map[string]dotCounts{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		m := countLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a summary line: %q\nstdout:\n%s", l, stdout)
		}
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		out[m[1]] = dotCounts{n(2), n(3), n(4), n(5), n(6), n(7), n(8)}
	}
	for _, table := range []string{"users", "groups", "memberships", "applications", "access_tokens", "refresh_tokens"} {
		if _, ok := out[table]; !ok {
			t.Fatalf("no summary line for %s:\n%s", table, stdout)
		}
	}
	return out
}

// runImport runs `authserver import-dot args…` and returns its outputs and
// exit code.
func runImport(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary(t, "authserver"), append([]string{"import-dot"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		t.Fatalf("import-dot did not run: %v", err)
	}
	return out.String(), errb.String(), code
}

// mustImport runs an import that must succeed, and returns its counts and
// everything it printed.
func mustImport(t *testing.T, env map[string]string, args ...string) (map[string]dotCounts, string) {
	t.Helper()
	out, errs, code := runImport(t, env, args...)
	if code != 0 {
		t.Fatalf("import-dot %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errs)
	}
	t.Logf("import-dot %v:\n%s%s", args, out, errs)
	return parseCounts(t, out), out + errs
}

func wantCounts(t *testing.T, got map[string]dotCounts, want map[string]dotCounts) {
	t.Helper()
	for table, w := range want {
		if got[table] != w {
			t.Errorf("%s: got %+v, want %+v", table, got[table], w)
		}
	}
}

// dotTokens asks DOT's own token endpoint for tokens.
func dotTokens(t *testing.T, dj *djangoProject, id, secret string, form url.Values) (access, refresh string) {
	t.Helper()
	r := newClient(t, dj.URL).do("POST", "/o/token/", form, "Authorization", basicAuth(id, secret))
	expectStatus(t, r, 200)
	m := r.JSON(t)
	access, _ = m["access_token"].(string)
	refresh, _ = m["refresh_token"].(string)
	return access, refresh
}

func passwordForm(user, pw string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}
}

// browserLogin signs in at /login/ as a browser does (CSRF token from the
// form, cookies) and returns the status of the POST.
func browserLogin(t *testing.T, base, email, pw string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(base + "/login/")
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	_, _ = page.ReadFrom(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`).FindStringSubmatch(page.String())
	if m == nil {
		t.Fatalf("no CSRF token on /login/:\n%s", page.String())
	}
	resp, err = hc.PostForm(base+"/login/", url.Values{"csrfmiddlewaretoken": {m[1]}, "username": {email}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// passwordHash reads a user's stored hash from Portcullis's database.
// queryRow scans the one row of q on Portcullis's database into dest.
func queryRow(t *testing.T, dbURL, q string, args []any, dest ...any) {
	t.Helper()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(q, args...).Scan(dest...); err != nil {
		t.Fatalf("%s %v: %v", q, args, err)
	}
}

func passwordHash(t *testing.T, dbURL, email string) string {
	t.Helper()
	var h string
	queryRow(t, dbURL, "SELECT password FROM users WHERE email_key = $1", []any{strings.ToLower(email)}, &h)
	return h
}

func rowCount(t *testing.T, dbURL, table string) int {
	t.Helper()
	var n int
	queryRow(t, dbURL, "SELECT COUNT(*) FROM "+table, nil, &n)
	return n
}

// clientAlgorithm is the id token algorithm Portcullis holds for a client.
func clientAlgorithm(t *testing.T, dbURL, clientID string) string {
	t.Helper()
	var alg string
	queryRow(t, dbURL, "SELECT algorithm FROM clients WHERE client_id = $1", []any{clientID}, &alg)
	return alg
}

func TestImportFromDjangoOAuthToolkit(t *testing.T) {
	djangoPython(t)
	t.Run("postgres", func(t *testing.T) {
		testImportFromDOT(t, freshSchema(t, servicetest.Require(t, "TEST_DATABASE_URL")))
	})
	t.Run("sqlite", func(t *testing.T) {
		testImportFromDOT(t, "sqlite:"+filepath.Join(t.TempDir(), "db.sqlite3"))
	})
}

func testImportFromDOT(t *testing.T, djangoDB string) {
	dj := newDjangoProject(t, djangoDB)
	// The tutorial's superuser, and more users with manage.py; an unusable
	// password must stay unusable.
	dj.env = append(dj.env, "DJANGO_SUPERUSER_PASSWORD=testpass123")
	dj.manage(t, "createsuperuser", "--noinput", "--email", "admin@email.com")
	genSecret := dj.shell(t, `
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from oauth2_provider.models import Application
U = get_user_model()
u2 = U.objects.create_user('user2@email.com', 'Second-pass-456')
U.objects.create_user('nopass@email.com', None)
admin = U.objects.get(email='admin@email.com')
Application.objects.create(name='resource-server', client_id='rs-id', client_secret='rs-secret', client_type='confidential', authorization_grant_type='password')
Application.objects.create(name='cc', client_id='cc-id', client_secret='cc-secret', client_type='confidential', authorization_grant_type='client-credentials')
Application.objects.create(name='spa', client_id='spa-id', client_type='public', authorization_grant_type='authorization-code', redirect_uris='https://spa.example/cb', skip_authorization=True, user=admin, algorithm='RS256')
Application.objects.create(name='hs', client_id='hs-id', client_secret='hs-secret', client_type='confidential', authorization_grant_type='authorization-code', redirect_uris='https://hs.example/cb', algorithm='HS256')
Application.objects.create(name='old-implicit', client_id='imp-id', client_type='public', authorization_grant_type='implicit', redirect_uris='https://imp.example/cb')
gen = Application.objects.create(name='generated', client_id='gen-id', client_type='confidential', authorization_grant_type='password', user=admin)
print(gen.client_secret)
`)
	if len(genSecret) != 128 {
		t.Fatalf("DOT generated a secret of %d characters, want 128", len(genSecret))
	}
	dj.serve(t)
	djc := newClient(t, dj.URL)
	// user1 signs up through the tutorial's own API.
	expectStatus(t, djc.do("POST", "/users/signup/", url.Values{"email": {"user1@email.com"}, "password": {"testpass123"}, "password2": {"testpass123"}}), 201)
	dj.shell(t, `
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
U = get_user_model()
g = Group.objects.create(name='editors')
U.objects.get(email='user1@email.com').groups.add(g)
U.objects.get(email='user2@email.com').groups.add(g)
`)

	// Tokens from DOT's /o/token/.
	p1a, p1r := dotTokens(t, dj, "rs-id", "rs-secret", passwordForm("user1@email.com", "testpass123"))     // live pair
	p2a, p2r := dotTokens(t, dj, "rs-id", "rs-secret", passwordForm("admin@email.com", "testpass123"))     // revoked at DOT
	p3a, p3r := dotTokens(t, dj, "rs-id", "rs-secret", passwordForm("user2@email.com", "Second-pass-456")) // access expired
	p4a, _ := dotTokens(t, dj, "cc-id", "cc-secret", url.Values{"grant_type": {"client_credentials"}})     // no user
	p5a, p5r := dotTokens(t, dj, "gen-id", genSecret, passwordForm("user1@email.com", "testpass123"))      // generated secret
	p6a, p6r := dotTokens(t, dj, "rs-id", "rs-secret", passwordForm("user2@email.com", "Second-pass-456")) // rotated at DOT
	p7a, p7r := dotTokens(t, dj, "rs-id", "rs-secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p6r}})
	p8a, p8r := dotTokens(t, dj, "rs-id", "rs-secret", passwordForm("user1@email.com", "testpass123")) // access token revoked alone at DOT
	expectStatus(t, djc.do("POST", "/o/revoke_token/", url.Values{"token": {p8a}, "token_type_hint": {"access_token"}},
		"Authorization", basicAuth("rs-id", "rs-secret")), 200)
	expectStatus(t, djc.do("POST", "/o/revoke_token/", url.Values{"token": {p2r}, "token_type_hint": {"refresh_token"}},
		"Authorization", basicAuth("rs-id", "rs-secret")), 200)
	dj.shell(t, fmt.Sprintf(`
from datetime import timedelta
from django.utils import timezone
from oauth2_provider.models import AccessToken
AccessToken.objects.filter(token=%q).update(expires=timezone.now() - timedelta(minutes=5))
`, p3a))
	// DOT's own expiry of the live access tokens, in Unix seconds.
	dotExp := map[string]int64{}
	for _, a := range []string{p1a, p4a, p5a, p7a} {
		v, err := strconv.ParseInt(dj.shell(t, fmt.Sprintf(`
from oauth2_provider.models import AccessToken
print(int(AccessToken.objects.get(token=%q).expires.timestamp()))`, a)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		dotExp[a] = v
	}

	b := realBackend(t)
	env := authEnv(b, nil)
	from := djangoDB // the same URL forms as DATABASE_URL

	// A dry run writes nothing.
	dry, _ := mustImport(t, env, "--from", from, "--dry-run")
	wantCounts(t, dry, map[string]dotCounts{"users": {read: 4, created: 4}, "applications": {read: 6, created: 4, skipped: 2}})
	if n := rowCount(t, b.DatabaseURL, "users"); n != 0 {
		t.Fatalf("a dry run wrote %d users", n)
	}

	first, printed := mustImport(t, env, "--from", from)
	for _, secret := range []string{p1a, p1r, p2a, p3r, p4a, p5a, p5r, p7a, p7r, p8a, p8r, genSecret, "rs-secret", "cc-secret", "testpass123"} {
		if strings.Contains(printed, secret) {
			t.Fatalf("import-dot printed a token, secret or password:\n%s", printed)
		}
	}
	wantCounts(t, first, map[string]dotCounts{
		"users":        {read: 4, created: 4},
		"groups":       {read: 1, created: 1},
		"memberships":  {read: 2, created: 2},
		"applications": {read: 6, created: 4, skipped: 2}, // implicit and HS256: not offered
		// p1 p3(expired) p4 p5 p7; p2's, p6's and p8's were deleted by DOT.
		"access_tokens": {read: 5, created: 4, expired: 1},
		// p1 p3 p5 p7 live; p2 revoked, p6 rotated away, p8's access
		// token revoked alone.
		"refresh_tokens": {read: 7, created: 4, revoked: 3},
	})
	// DOT's algorithm moves; HS256 (signed with the client secret) is
	// refused by name.
	if alg := clientAlgorithm(t, b.DatabaseURL, "spa-id"); alg != "RS256" {
		t.Errorf("spa-id's algorithm: %q, want RS256", alg)
	}
	var hs int
	queryRow(t, b.DatabaseURL, "SELECT COUNT(*) FROM clients WHERE client_id = $1", []any{"hs-id"}, &hs)
	if hs != 0 || !strings.Contains(printed, "algorithm HS256") {
		t.Errorf("the HS256 application: %d imported, warning:\n%s", hs, printed)
	}
	if dry["users"] != first["users"] || dry["access_tokens"] != first["access_tokens"] || dry["refresh_tokens"] != first["refresh_tokens"] {
		t.Errorf("the dry run's counts %v differ from the run's %v", dry, first)
	}

	auth := start(t, "authserver", env)
	rs := start(t, "resourceserver", map[string]string{
		"DATABASE_URL": b.RSDatabase, "REDIS_URL": b.RedisURL, "REDIS_PREFIX": b.RedisPrefix,
		"AUTH_SERVER_URL": auth.URL, "INTROSPECTION_CLIENT_ID": "rs-id", "INTROSPECTION_CLIENT_SECRET": "rs-secret",
	})
	ac := newClient(t, auth.URL)
	rsc := newClient(t, rs.URL)
	introspect := func(tok string, hint ...string) map[string]any {
		t.Helper()
		form := url.Values{"token": {tok}}
		if len(hint) > 0 {
			form.Set("token_type_hint", hint[0])
		}
		r := ac.do("POST", "/o/introspect/", form, "Authorization", basicAuth("rs-id", "rs-secret"))
		expectStatus(t, r, 200)
		return r.JSON(t)
	}

	// DOT's access tokens: active, same scope, user and exp (±1 s); the
	// resource server accepts them.
	for _, tc := range []struct{ tok, client, user string }{
		{p1a, "rs-id", "user1@email.com"}, {p4a, "cc-id", ""}, {p5a, "gen-id", "user1@email.com"}, {p7a, "rs-id", "user2@email.com"},
	} {
		m := introspect(tc.tok)
		exp, _ := m["exp"].(float64)
		if m["active"] != true || m["scope"] != "read write introspection" || m["client_id"] != tc.client ||
			math.Abs(exp-float64(dotExp[tc.tok])) > 1 {
			t.Errorf("introspect %s…: %v (DOT's exp %d)", tc.tok[:4], m, dotExp[tc.tok])
		}
		if u, _ := m["username"].(string); u != tc.user {
			t.Errorf("introspect %s…: username %q, want %q", tc.tok[:4], u, tc.user)
		}
		expectStatus(t, rsc.do("GET", "/items/", nil, "Authorization", "Bearer "+tc.tok), 200)
	}
	// Expired and revoked tokens are not active.
	for _, tok := range []string{p2a, p3a, p6a} {
		if m := introspect(tok); m["active"] != false {
			t.Errorf("introspect a dead DOT token: %v", m)
		}
		expectStatus(t, rsc.do("GET", "/items/", nil, "Authorization", "Bearer "+tok), 401)
	}
	for _, tok := range []string{p2r, p6r, p8r} {
		r := ac.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}, "Authorization", basicAuth("rs-id", "rs-secret"))
		expectStatus(t, r, 400)
	}

	// DOT's refresh tokens refresh once; the old one is then refused.
	for _, tc := range []struct{ rt, id, secret string }{{p1r, "rs-id", "rs-secret"}, {p3r, "rs-id", "rs-secret"}, {p5r, "gen-id", genSecret}, {p7r, "rs-id", "rs-secret"}} {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tc.rt}}
		r := ac.do("POST", "/o/token/", form, "Authorization", basicAuth(tc.id, tc.secret))
		expectStatus(t, r, 200)
		m := r.JSON(t)
		if m["scope"] != "read write introspection" || !strings.HasPrefix(m["refresh_token"].(string), "pcrt_") {
			t.Errorf("refresh of a DOT token: %v", m)
		}
		expectStatus(t, rsc.do("GET", "/items/", nil, "Authorization", "Bearer "+m["access_token"].(string)), 200)
		expectStatus(t, ac.do("POST", "/o/token/", form, "Authorization", basicAuth(tc.id, tc.secret)), 400)
	}
	// The rotation took the DOT access token that came with the pair.
	if m := introspect(p1a); m["active"] != false {
		t.Errorf("p1's access token after its refresh: %v", m)
	}

	// Every application authenticates with its old secret.
	expectStatus(t, ac.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, "Authorization", basicAuth("cc-id", "cc-secret")), 200)
	expectStatus(t, ac.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, "Authorization", basicAuth("cc-id", "wrong")), 401)
	// Every user signs in with the old password, at /o/token/ and at
	// /login/ (each first at one of them), and the hash becomes argon2id.
	users := []struct{ email, pw string }{{"admin@email.com", "testpass123"}, {"user1@email.com", "testpass123"}, {"user2@email.com", "Second-pass-456"}}
	for i, u := range users {
		if h := passwordHash(t, b.DatabaseURL, u.email); !strings.HasPrefix(h, "pbkdf2_sha256$") {
			t.Fatalf("%s: imported hash %.14s…, want Django's pbkdf2_sha256", u.email, h)
		}
		token := func() {
			expectStatus(t, ac.do("POST", "/o/token/", passwordForm(u.email, u.pw), "Authorization", basicAuth("rs-id", "rs-secret")), 200)
			expectStatus(t, ac.do("POST", "/o/token/", passwordForm(u.email, u.pw), "Authorization", basicAuth("gen-id", genSecret)), 200)
		}
		browser := func() {
			if st := browserLogin(t, auth.URL, u.email, u.pw); st != http.StatusSeeOther {
				t.Fatalf("%s: /login/ answered %d, want 303", u.email, st)
			}
		}
		if i%2 == 0 {
			token()
			browser()
		} else {
			browser()
			token()
		}
		if h := passwordHash(t, b.DatabaseURL, u.email); !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("%s: hash after login %.10s…, want argon2id", u.email, h)
		}
	}
	if h := passwordHash(t, b.DatabaseURL, "nopass@email.com"); !strings.HasPrefix(h, "!") {
		t.Errorf("an unusable password was imported as %.3s…", h)
	}
	expectStatus(t, ac.do("POST", "/o/token/", passwordForm("nopass@email.com", ""), "Authorization", basicAuth("rs-id", "rs-secret")), 400)

	// A second run changes nothing, and brings back nothing rotated away.
	second, _ := mustImport(t, env, "--from", from)
	wantCounts(t, second, map[string]dotCounts{
		"users":          {read: 4, unchanged: 4},
		"groups":         {read: 1, unchanged: 1},
		"memberships":    {read: 2, unchanged: 2},
		"applications":   {read: 6, unchanged: 4, skipped: 2},
		"access_tokens":  {read: 5, unchanged: 4, expired: 1},
		"refresh_tokens": {read: 7, unchanged: 4, revoked: 3},
	})
	if m := introspect(p1a); m["active"] != false {
		t.Errorf("a second import brought back a rotated-away access token: %v", m)
	}
	expectStatus(t, ac.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p1r}}, "Authorization", basicAuth("rs-id", "rs-secret")), 400)

	// A user who signs up on DOT afterwards: the next run adds exactly that
	// user. An application's algorithm changed there follows.
	expectStatus(t, djc.do("POST", "/users/signup/", url.Values{"email": {"late@email.com"}, "password": {"Late-pass-789"}, "password2": {"Late-pass-789"}}), 201)
	dj.shell(t, `
from oauth2_provider.models import Application
Application.objects.filter(client_id='spa-id').update(algorithm='')
`)
	third, _ := mustImport(t, env, "--from", from)
	wantCounts(t, third, map[string]dotCounts{
		"users":        {read: 5, created: 1, unchanged: 4},
		"groups":       {read: 1, unchanged: 1},
		"memberships":  {read: 2, unchanged: 2},
		"applications": {read: 6, updated: 1, unchanged: 3, skipped: 2},
	})
	if alg := clientAlgorithm(t, b.DatabaseURL, "spa-id"); alg != "" {
		t.Errorf("spa-id's algorithm after DOT cleared it: %q", alg)
	}
	expectStatus(t, ac.do("POST", "/o/token/", passwordForm("late@email.com", "Late-pass-789"), "Authorization", basicAuth("rs-id", "rs-secret")), 200)

	// A user deactivated in Django before the last run: deactivated here,
	// with every token of theirs, DOT's and Portcullis's, revoked.
	r := ac.do("POST", "/o/token/", passwordForm("user2@email.com", "Second-pass-456"), "Authorization", basicAuth("rs-id", "rs-secret"))
	expectStatus(t, r, 200)
	ours := r.JSON(t)["access_token"].(string)
	dj.shell(t, `
from django.contrib.auth import get_user_model
get_user_model().objects.filter(email='user2@email.com').update(is_active=False)
`)
	fourth, _ := mustImport(t, env, "--from", from)
	wantCounts(t, fourth, map[string]dotCounts{"users": {read: 5, updated: 1, unchanged: 4}})
	if m := introspect(ours); m["active"] != false {
		t.Errorf("a deactivated user's token: %v", m)
	}
	expectStatus(t, ac.do("POST", "/o/token/", passwordForm("user2@email.com", "Second-pass-456"), "Authorization", basicAuth("rs-id", "rs-secret")), 400)
}
