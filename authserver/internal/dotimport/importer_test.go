package dotimport

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// fakeTokens records imports, by access token.
type fakeTokens struct {
	mu       sync.Mutex
	seen     map[string]tokens.ImportedTokens
	imported map[string]bool // every token text imported
	revoked  []int64         // users
}

var _ TokenStore = (*fakeTokens)(nil)

func (f *fakeTokens) Generation(context.Context) (int64, error) { return 0, nil }

func (f *fakeTokens) WasImported(_ context.Context, token string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.imported[token], nil
}

func (f *fakeTokens) Import(_ context.Context, t tokens.ImportedTokens) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[t.AccessToken] = t
	f.imported[t.AccessToken] = true
	if t.RefreshToken != "" {
		f.imported[t.RefreshToken] = true
	}
	return nil
}

func (f *fakeTokens) RevokeUser(_ context.Context, userID int64, _ string, _ revocation.Reason) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, userID)
	return nil
}

type fixture struct {
	src, dst *database.DB
	tokens   *fakeTokens
	reg      *clients.Registry
	hasher   *passwords.Hasher
	log      bytes.Buffer
}

func newFixture(t *testing.T, dstURL string) *fixture {
	t.Helper()
	ctx := testenv.Context(t)
	src, err := database.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "django.sqlite3"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	ddl, err := os.ReadFile("testdata/dot17_auth_user.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.ExecContext(ctx, string(ddl)); err != nil {
		t.Fatal(err)
	}
	h, err := passwords.NewHasher(testenv.CheapArgon)
	if err != nil {
		t.Fatal(err)
	}
	dst := testenv.DB(t, dstURL)
	return &fixture{src: src, dst: dst, tokens: &fakeTokens{seen: map[string]tokens.ImportedTokens{}, imported: map[string]bool{}}, hasher: h,
		reg: clients.NewRegistry(clients.NewStore(dst), h, 0)}
}

func (f *fixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := f.src.ExecContext(testenv.Context(t), q, args...); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
}

func (f *fixture) run(t *testing.T, opt Options) (map[string]Count, error) {
	t.Helper()
	var out bytes.Buffer
	opt.Out = &out
	im := &Importer{Source: f.src, Target: f.dst, Tokens: f.tokens, Secrets: f.reg, Hashes: f.hasher,
		Log: slog.New(slog.NewTextHandler(&f.log, nil))}
	counts, err := im.Run(testenv.Context(t), opt)
	m := map[string]Count{}
	for _, c := range counts {
		m[c.Table] = c
	}
	if err == nil && len(strings.Split(strings.TrimSpace(out.String()), "\n")) != 6 {
		t.Fatalf("want six summary lines, got:\n%s", out.String())
	}
	return m, err
}

func (f *fixture) mustRun(t *testing.T, opt Options) map[string]Count {
	t.Helper()
	m, err := f.run(t, opt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const djHash = "pbkdf2_sha256$1000$salt$"

// djangoPassword is Django's pbkdf2_sha256 format, with a cheap iteration
// count.
func djangoPassword(t *testing.T, pw string) string {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, pw, []byte("salt"), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	return djHash + base64.StdEncoding.EncodeToString(key)
}

func TestImportAuthUserTable(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL)
			ctx := testenv.Context(t)
			now := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
			later := time.Now().Add(10 * time.Hour).UTC().Format("2006-01-02 15:04:05.000000")
			pw := djangoPassword(t, "testpass123")
			// Two Django users share an email in different letter case (the
			// second registered it unverified); one has no email.
			f.exec(t, `INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
				VALUES (1, ?, 0, 'alice', '', '', 'Alice@Example.com', 1, 1, ?), (2, ?, 0, 'mallory', '', '', 'alice@example.COM', 0, 1, ?),
				(3, ?, 0, 'bob', '', '', '', 0, 1, ?), (4, ?, 0, 'carol', '', '', 'carol@example.com', 0, 0, ?),
				(5, ?, 0, 'dave', '', '', 'dave@example.com', 0, 1, ?)`, pw, now, djangoPassword(t, "mallory-pass"), now, pw, now, pw, now, pw, now)
			f.exec(t, `INSERT INTO auth_group (id, name) VALUES (1, 'editors')`)
			f.exec(t, `INSERT INTO auth_user_groups (user_id, group_id) VALUES (1, 1), (2, 1)`)
			f.exec(t, `INSERT INTO oauth2_provider_application (id, client_id, redirect_uris, client_type, authorization_grant_type, client_secret,
				name, user_id, skip_authorization, created, updated, algorithm)
				VALUES (1, 'rs-id', '', 'confidential', 'password', 'rs-secret', 'rs', NULL, 0, ?, ?, ''),
				(2, 'hashed-id', '', 'confidential', 'client-credentials', ?, 'hashed', 1, 0, ?, ?, 'RS256')`,
				now, now, djangoPassword(t, "hashed-secret"), now, now)
			f.exec(t, `INSERT INTO oauth2_provider_accesstoken (id, token, expires, scope, application_id, user_id, created, updated)
				VALUES (1, 'aliceAccess', ?, 'read  write', 1, 1, ?, ?), (2, 'malloryAccess', ?, 'read', 1, 2, ?, ?),
				(3, 'inactiveCarolAccess', ?, 'read', 1, 4, ?, ?), (4, 'daveAccess', ?, 'read', 1, 5, ?, ?)`,
				later, now, now, later, now, now, later, now, now, later, now, now)

			got := f.mustRun(t, Options{})
			if got[TableUsers] != (Count{Table: TableUsers, Read: 5, Created: 3, Skipped: 2}) {
				t.Errorf("users: %+v", got[TableUsers])
			}
			if got[TableMemberships] != (Count{Table: TableMemberships, Read: 2, Created: 1, Skipped: 1}) {
				t.Errorf("memberships: %+v", got[TableMemberships])
			}
			// Mallory's token stays behind with her, and so does the
			// inactive user's.
			if c := got[TableAccess]; c.Created != 2 || c.Skipped != 2 {
				t.Errorf("access tokens: %+v", c)
			}
			if len(f.tokens.seen) != 2 {
				t.Errorf("imported %v", f.tokens.seen)
			}
			if p := f.tokens.seen["aliceAccess"]; p.Username != "Alice@example.com" || p.Scope != "read write" || p.ClientID != "rs-id" {
				t.Errorf("imported %+v", p)
			}
			if p := f.tokens.seen["daveAccess"]; p.Username != "dave@example.com" {
				t.Errorf("imported %+v", p)
			}
			log := f.log.String()
			if !strings.Contains(log, "same email") || !strings.Contains(log, "no email") {
				t.Errorf("warnings do not name the skipped users:\n%s", log)
			}
			for _, secret := range []string{"rs-secret", "hashed-secret", "aliceAccess", "testpass123", djHash} {
				if strings.Contains(log, secret) {
					t.Fatalf("the log holds %q:\n%s", secret, log)
				}
			}
			u, err := accounts.NewStore(f.dst).ByEmail(ctx, "alice@example.com")
			if err != nil || u.Password != pw || !u.IsStaff {
				t.Fatalf("alice = %+v, %v", u, err)
			}
			// Secrets: plaintext hashed, a Django hash kept; both verify.
			for id, secret := range map[string]string{"rs-id": "rs-secret", "hashed-id": "hashed-secret"} {
				if _, err := f.reg.Authenticate(ctx, id, secret, true); err != nil {
					t.Errorf("%s with its old secret: %v", id, err)
				}
				if _, err := f.reg.Authenticate(ctx, id, "wrong", true); !errors.Is(err, clients.ErrInvalidClient) {
					t.Errorf("%s with a wrong secret: %v", id, err)
				}
			}
			c, _ := f.reg.Store().ByClientID(ctx, "rs-id")
			if c.SecretHash == "rs-secret" || !strings.HasPrefix(c.SecretHash, "$argon2id$") {
				t.Errorf("a chosen plaintext secret is stored as %.12s…", c.SecretHash)
			}
			c, _ = f.reg.Store().ByClientID(ctx, "hashed-id")
			if !strings.HasPrefix(c.SecretHash, "pbkdf2_sha256$") || c.Algorithm != "RS256" || c.UserID.Int64 != u.ID {
				t.Errorf("hashed-id = %+v", c)
			}

			// The user signs in here (argon2id); Django changes her flags
			// and the application's redirect URI: a re-run updates those
			// and keeps the newer hash.
			argon, err := f.hasher.Hash(context.Background(), "testpass123")
			if err != nil {
				t.Fatal(err)
			}
			if err := accounts.NewStore(f.dst).SetPassword(ctx, u.ID, argon); err != nil {
				t.Fatal(err)
			}
			f.exec(t, `UPDATE auth_user SET is_staff = 0, password = ? WHERE id = 1`, djangoPassword(t, "changed-in-django"))
			f.exec(t, `UPDATE auth_user SET is_active = 0 WHERE id = 5`)
			f.exec(t, `UPDATE oauth2_provider_application SET authorization_grant_type = 'authorization-code', redirect_uris = 'https://a.example/cb' WHERE id = 1`)
			got = f.mustRun(t, Options{})
			if got[TableUsers].Updated != 2 || got[TableApps].Updated != 1 || got[TableApps].Unchanged != 1 {
				t.Errorf("re-run: users %+v, applications %+v", got[TableUsers], got[TableApps])
			}
			// Dave was deactivated in Django: his tokens here are revoked,
			// and no token of his moves any more.
			dave, _ := accounts.NewStore(f.dst).ByEmail(ctx, "dave@example.com")
			if len(f.tokens.revoked) != 1 || f.tokens.revoked[0] != dave.ID || dave.IsActive {
				t.Errorf("revoked users %v, dave %+v", f.tokens.revoked, dave)
			}
			if c := got[TableAccess]; c.Unchanged != 1 || c.Skipped != 3 {
				t.Errorf("re-run: access tokens %+v", c)
			}
			u, _ = accounts.NewStore(f.dst).ByEmail(ctx, "alice@example.com")
			if u.Password != argon || u.IsStaff {
				t.Errorf("after the re-run alice = %+v", u)
			}
			if got = f.mustRun(t, Options{}); got[TableUsers].Updated+got[TableApps].Updated+got[TableUsers].Created != 0 {
				t.Errorf("third run changed something: %+v", got)
			}
		})
	}
}

func TestImportSchemaErrors(t *testing.T) {
	f := newFixture(t, testenv.SQLiteURL(t))
	ctx := testenv.Context(t)
	f.exec(t, `CREATE TABLE users_customuser (id integer PRIMARY KEY, password text, last_login datetime, is_superuser bool,
		email text, is_staff bool, is_active bool, date_joined datetime)`)
	if _, err := f.run(t, Options{}); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "--user-table") {
		t.Fatalf("both user tables: %v", err)
	}
	if _, err := f.run(t, Options{UserTable: "users_customuser"}); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), `"users_customuser_groups"`) {
		t.Fatalf("no memberships table: %v", err)
	}
	f.exec(t, `ALTER TABLE oauth2_provider_application DROP COLUMN skip_authorization`)
	_, err := f.run(t, Options{UserTable: "auth_user"})
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), `table "oauth2_provider_application" has no column "skip_authorization"`) {
		t.Fatalf("missing column: %v", err)
	}
	var n int
	if err := f.dst.GetContext(ctx, &n, "SELECT COUNT(*) FROM users"); err != nil || n != 0 {
		t.Fatalf("users after a schema error: %d, %v", n, err)
	}
}

// DOT 2 and later have post-logout redirect URIs; every DOT since 1.5 has
// an algorithm. Both move, and a re-run updates them. HS256 (id tokens
// signed with the client secret) is refused by name.
func TestImportCopiesAlgorithmAndPostLogoutURIs(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL)
			ctx := testenv.Context(t)
			now := time.Now().UTC().Format("2006-01-02 15:04:05")
			f.exec(t, `ALTER TABLE oauth2_provider_application ADD COLUMN post_logout_redirect_uris text NOT NULL DEFAULT ''`)
			f.exec(t, `INSERT INTO oauth2_provider_application (id, client_id, redirect_uris, client_type, authorization_grant_type, client_secret,
				name, skip_authorization, created, updated, algorithm, post_logout_redirect_uris)
				VALUES (1, 'spa-id', 'https://spa.example/cb', 'public', 'authorization-code', 'x', 'spa', 1, ?, ?, 'RS256',
					'https://spa.example/bye  https://spa.example/bye https://spa.example/later'),
				(2, 'plain-id', 'https://plain.example/cb', 'confidential', 'authorization-code', 'plain-secret', 'plain', 0, ?, ?, '', ''),
				(3, 'hs-id', 'https://hs.example/cb', 'confidential', 'authorization-code', 'hs-secret', 'hs', 0, ?, ?, 'HS256', ''),
				(4, 'frag-id', 'https://frag.example/cb', 'confidential', 'authorization-code', 'frag-secret', 'frag', 0, ?, ?, '', 'https://frag.example/#x')`,
				now, now, now, now, now, now, now, now)
			got := f.mustRun(t, Options{})
			if got[TableApps] != (Count{Table: TableApps, Read: 4, Created: 2, Skipped: 2}) {
				t.Fatalf("applications: %+v", got[TableApps])
			}
			log := f.log.String()
			if !strings.Contains(log, "algorithm HS256") || !strings.Contains(log, "post logout redirect URIs must be absolute") {
				t.Fatalf("the warnings do not say why hs-id and frag-id stayed behind:\n%s", log)
			}
			want := func(id, alg, logout string) {
				t.Helper()
				c, err := f.reg.Store().ByClientID(ctx, id)
				if err != nil || c.Algorithm != alg || c.PostLogoutRedirectURIsRaw != logout {
					t.Fatalf("%s = %+v, %v; want algorithm %q, post-logout %q", id, c, err, alg, logout)
				}
			}
			want("spa-id", "RS256", "https://spa.example/bye https://spa.example/later")
			want("plain-id", "", "")
			for _, id := range []string{"hs-id", "frag-id"} {
				if _, err := f.reg.Store().ByClientID(ctx, id); !errors.Is(err, clients.ErrNotFound) {
					t.Fatalf("%s was imported: %v", id, err)
				}
			}

			// Django changes them: a re-run follows.
			f.exec(t, `UPDATE oauth2_provider_application SET algorithm = '', post_logout_redirect_uris = 'https://spa.example/bye' WHERE id = 1`)
			f.exec(t, `UPDATE oauth2_provider_application SET algorithm = 'RS256', post_logout_redirect_uris = 'https://plain.example/bye' WHERE id = 2`)
			got = f.mustRun(t, Options{})
			if got[TableApps].Updated != 2 || got[TableApps].Unchanged != 0 {
				t.Fatalf("re-run: applications %+v", got[TableApps])
			}
			want("spa-id", "", "https://spa.example/bye")
			want("plain-id", "RS256", "https://plain.example/bye")
			if got = f.mustRun(t, Options{}); got[TableApps].Unchanged != 2 || got[TableApps].Updated != 0 {
				t.Fatalf("third run: applications %+v", got[TableApps])
			}
		})
	}
}

// DOT 1.x has no post-logout redirect URIs: those registered in
// Portcullis since the first run stay as they are.
func TestImportKeepsPostLogoutURIsDOTHasNot(t *testing.T) {
	f := newFixture(t, testenv.SQLiteURL(t))
	ctx := testenv.Context(t)
	now := time.Now().UTC().Format("2006-01-02 15:04:05")
	f.exec(t, `INSERT INTO oauth2_provider_application (id, client_id, redirect_uris, client_type, authorization_grant_type, client_secret,
		name, skip_authorization, created, updated, algorithm)
		VALUES (1, 'web-id', 'https://web.example/cb', 'public', 'authorization-code', '', 'web', 0, ?, ?, 'RS256')`, now, now)
	f.mustRun(t, Options{})
	if _, err := f.dst.ExecContext(ctx, f.dst.Rebind(`UPDATE clients SET post_logout_redirect_uris = ? WHERE client_id = ?`),
		"https://web.example/bye", "web-id"); err != nil {
		t.Fatal(err)
	}
	if got := f.mustRun(t, Options{}); got[TableApps].Unchanged != 1 {
		t.Fatalf("re-run: applications %+v", got[TableApps])
	}
	c, err := f.reg.Store().ByClientID(ctx, "web-id")
	if err != nil || c.PostLogoutRedirectURIsRaw != "https://web.example/bye" || c.Algorithm != "RS256" {
		t.Fatalf("web-id = %+v, %v", c, err)
	}
}

// A live refresh token whose access token DOT deleted (revoked alone) is
// a grant ended on purpose: it is counted as revoked and never moves.
func TestImportRefreshTokenOfRevokedAccessTokenStaysBehind(t *testing.T) {
	f := newFixture(t, testenv.SQLiteURL(t))
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	later := time.Now().Add(10 * time.Hour).UTC().Format("2006-01-02 15:04:05.000000")
	f.exec(t, `INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
		VALUES (1, '!x', 0, 'alice', '', '', 'alice@example.com', 0, 1, ?)`, now)
	f.exec(t, `INSERT INTO oauth2_provider_application (id, client_id, redirect_uris, client_type, authorization_grant_type, client_secret,
		name, user_id, skip_authorization, created, updated, algorithm) VALUES (1, 'rs-id', '', 'confidential', 'password', 'rs-secret', 'rs', NULL, 0, ?, ?, '')`,
		now, now)
	f.exec(t, `INSERT INTO oauth2_provider_accesstoken (id, token, expires, scope, application_id, user_id, created, updated)
		VALUES (1, 'livePairAccess', ?, 'read', 1, 1, ?, ?)`, later, now, now)
	f.exec(t, `INSERT INTO oauth2_provider_refreshtoken (id, token, access_token_id, application_id, user_id, created, updated, revoked)
		VALUES (1, 'livePairRefresh', 1, 1, 1, ?, ?, NULL), (2, 'accessRevokedAloneRefresh', NULL, 1, 1, ?, ?, NULL),
		(3, 'revokedRefresh', NULL, 1, 1, ?, ?, ?)`, now, now, now, now, now, now, now)
	got := f.mustRun(t, Options{})
	if want := (Count{Table: TableRefresh, Read: 3, Created: 1, Revoked: 2, tokens: true}); got[TableRefresh] != want {
		t.Fatalf("refresh tokens: %v, want %v", got[TableRefresh], want)
	}
	for tok, want := range map[string]bool{"livePairRefresh": true, "accessRevokedAloneRefresh": false, "revokedRefresh": false} {
		if f.tokens.imported[tok] != want {
			t.Errorf("%s imported: %v, want %v", tok, f.tokens.imported[tok], want)
		}
	}
}

// Text a column cannot hold (invalid UTF-8, which SQLite stores) keeps its
// row out, named, instead of failing the whole import on PostgreSQL.
func TestImportSkipsInvalidText(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL)
			now := time.Now().UTC().Format("2006-01-02 15:04:05")
			f.exec(t, `INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
				VALUES (1, '!x', 0, 'a', '', '', CAST(x'61ff40782e6f7267' AS TEXT), 0, 1, ?), (2, '!x', 0, 'b', '', '', 'b@x.org', 0, 1, ?)`, now, now)
			f.exec(t, `INSERT INTO auth_group (id, name) VALUES (1, CAST(x'ff00' AS TEXT)), (2, 'ok')`)
			f.exec(t, `INSERT INTO oauth2_provider_application (client_id, redirect_uris, client_type, authorization_grant_type, client_secret,
				name, skip_authorization, created, updated, algorithm) VALUES ('bad-id', '', 'confidential', 'password', CAST(x'c3' AS TEXT), 'n', 0, ?, ?, '')`, now, now)
			got := f.mustRun(t, Options{})
			if got[TableUsers].Created != 1 || got[TableUsers].Skipped != 1 || got[TableGroups].Created != 1 || got[TableGroups].Skipped != 1 ||
				got[TableApps].Skipped != 1 {
				t.Fatalf("counts: %v", got)
			}
			if !strings.Contains(f.log.String(), "not valid UTF-8") {
				t.Fatalf("no warning:\n%s", f.log.String())
			}
		})
	}
}
