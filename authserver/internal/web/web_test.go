package web_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/audit"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/httpapi"
	"github.com/portcullis-oauth/portcullis/authserver/internal/lifecycle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/mail"
	"github.com/portcullis-oauth/portcullis/authserver/internal/mail/mailtest"
	"github.com/portcullis-oauth/portcullis/authserver/internal/metrics"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/resets"
	"github.com/portcullis-oauth/portcullis/authserver/internal/sessions"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/authserver/internal/web"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

const pw = "correct-Horse-battery-9"

// throttleLimit is the site's LOGIN_THROTTLE_LIMIT.
const throttleLimit = 5

type site struct {
	engine *httpapi.Engine
	srv    *httptest.Server
	svc    *accounts.Service
	reg    *clients.Registry
	tokens *tokens.Store
	db     *database.DB
	mail   *mailtest.Server
	logs   *syncBuffer
	codes  *hookedCodes
	gens   *hookedTokens
	// ids signs id tokens when the site is an OpenID Provider (openID).
	ids     *oidc.Issuer
	staff   accounts.User
	user    accounts.User
	cbCalls chan url.Values
	cb      *httptest.Server
}

// newSite runs the real engine with the pages on one database backend
// and one Redis (miniredis, or real Redis when rdb is given).
func newSite(t testing.TB, dbURL string, rdb redis.UniversalClient, prefix string) *site {
	t.Helper()
	return newSiteWith(t, dbURL, rdb, prefix, nil)
}

// newSiteWith is newSite with edit applied to the pages' Deps.
func newSiteWith(t testing.TB, dbURL string, rdb redis.UniversalClient, prefix string, edit func(*web.Deps)) *site {
	t.Helper()
	return newSiteOpts(t, dbURL, rdb, prefix, siteOptions{edit: edit})
}

// siteOptions change the site newSiteOpts builds.
type siteOptions struct {
	// edit is applied to the pages' Deps.
	edit func(*web.Deps)
	// openID makes the site an OpenID Provider: signing keys in the
	// database, authentications in Redis, as cmd wires them with
	// KEY_ENCRYPTION_KEY set.
	openID bool
}

// newSiteOpts is newSite, built as o says.
func newSiteOpts(t testing.TB, dbURL string, rdb redis.UniversalClient, prefix string, o siteOptions) *site {
	t.Helper()
	edit := o.edit
	ctx := context.Background()
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if rdb == nil {
		mr := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		rdb, prefix = c, testenv.Prefix()
	}
	h, err := passwords.NewHasher(passwords.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	// Every log line of the site is kept, to check that no token reaches it.
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := accounts.NewService(accounts.NewStore(db), h, passwords.Validate, log)
	reg := clients.NewRegistry(clients.NewStore(db), h, time.Minute)
	store := tokens.New(testenv.TokenClient(t, rdb, tokens.Dial), prefix, tokens.Lifetimes{Access: time.Hour, Refresh: 24 * time.Hour})
	reg.CheckGenerations(store)
	lim := throttle.New(testenv.Compat(t, rdb), prefix, throttleLimit, time.Minute)
	all := scope.Set{"read", "write", "introspection"}
	codes := &hookedCodes{CodeStore: store}
	gens := &hookedTokens{TokenStore: store}
	od := oauth.Deps{Clients: reg, Users: svc, Finder: svc.Store(), Tokens: gens, Throttle: lim, Log: log, Codes: codes, Lookup: reg}
	var ids *oidc.Issuer
	cfg := oauth.Config{Scopes: all, DefaultScopes: all}
	if o.openID {
		cfg.Scopes = append(scope.Set{oidc.ScopeOpenID, oidc.ScopeEmail}, all...)
		kek, err := signing.ParseKEK(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("e", 32))))
		if err != nil {
			t.Fatal(err)
		}
		keys := signing.NewKeyring(db, kek, time.Hour)
		if err := keys.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		ids = oidc.NewIssuer("http://x", time.Hour, keys)
		od.Authentications, od.IDTokens = oidc.NewStore(testenv.Compat(t, rdb), prefix, time.Minute, 24*time.Hour), ids
	}
	srv := oauth.NewServer(cfg, od)
	smtpSrv := mailtest.Start(t, mailtest.Options{User: "mailer", Password: "mail-pw"})
	mailer, err := mail.New("smtp://mailer:mail-pw@"+smtpSrv.Addr, "Portcullis <noreply@example.com>", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	mailer.(*mail.SMTP).TLS = smtpSrv.TLS
	compat := testenv.Compat(t, rdb)
	deps := web.Deps{Accounts: svc, Clients: reg, OAuth: srv, Lifecycle: lifecycle.New(store, reg), Counter: store, Audit: audit.New(db),
		Mail: mailer, Resets: resets.New(compat, prefix, time.Hour), BaseURL: "https://auth.example",
		Sessions: sessions.New(compat, prefix, time.Hour, 12*time.Hour), Throttle: lim, Key: []byte(strings.Repeat("k", 32)), Log: log}
	if edit != nil {
		edit(&deps)
	}
	pages, err := web.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{svc: svc, reg: reg, tokens: store, codes: codes, gens: gens, ids: ids, db: db, mail: smtpSrv, logs: logs, cbCalls: make(chan url.Values, 10)}
	s.engine = httpapi.New(httpapi.Deps{Accounts: svc, OAuth: srv, Lifecycle: lifecycle.New(store, reg), Throttle: lim, Issuer: "http://x", Pages: pages, Log: log, Metrics: metrics.New()})
	s.srv = httptest.NewServer(s.engine)
	t.Cleanup(s.srv.Close)
	s.cb = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.cbCalls <- r.URL.Query() }))
	t.Cleanup(s.cb.Close)
	if s.staff, err = svc.CreateSuperuser(ctx, "admin@email.com", pw, pw); err != nil {
		t.Fatal(err)
	}
	if s.user, err = svc.Signup(ctx, accounts.SignupInput{Email: accounts.Field{Value: "user1@email.com", Set: true},
		Password: accounts.Field{Value: pw, Set: true}, Password2: accounts.Field{Value: pw, Set: true}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// forEach runs f on SQLite+miniredis and PostgreSQL+Redis when set.
func forEach(t *testing.T, f func(t *testing.T, s *site)) { forEachOpts(t, siteOptions{}, f) }

// forEachOpts is forEach with sites built as o says.
func forEachOpts(t *testing.T, o siteOptions, f func(t *testing.T, s *site)) {
	t.Run("sqlite+miniredis", func(t *testing.T) { f(t, newSiteOpts(t, testenv.SQLiteURL(t), nil, "", o)) })
	t.Run("postgres+redis", func(t *testing.T) {
		u := testenv.PostgresURL(t)
		rdb, prefix := testenv.Redis(t)
		t.Cleanup(func() {
			keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
			if len(keys) > 0 {
				_ = rdb.Del(context.Background(), keys...).Err()
			}
		})
		f(t, newSiteOpts(t, u, rdb, prefix, o))
	})
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t *testing.T
	c *http.Client
	s *site
	// xff, when set, is sent as X-Forwarded-For (the test engine trusts it).
	xff string
}

func (s *site) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, s: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	body   string
	h      http.Header
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = b.s.srv.URL + path
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	bb, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(bb), resp.Header}
}

var csrfRE = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

func csrfOf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in page (%d): %s", p.status, p.body)
	}
	return m[1]
}

// post GETs path for its token, then POSTs form to action.
func (b *browser) post(path, action string, form url.Values) page {
	b.t.Helper()
	form.Set("csrfmiddlewaretoken", csrfOf(b.t, b.do("GET", path, nil)))
	return b.do("POST", action, form)
}

func (b *browser) login(email string) page {
	b.t.Helper()
	return b.loginWith(email, pw)
}

func (b *browser) loginWith(email, password string) page {
	b.t.Helper()
	return b.post("/login/", "/login/", url.Values{"username": {email}, "password": {password}})
}

func TestLoginLogout(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		b := s.browser(t)
		p := b.do("GET", "/login/", nil)
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
			if p.h.Get(k) != want {
				t.Errorf("%s = %q", k, p.h.Get(k))
			}
		}
		if c := p.h.Get("Content-Security-Policy"); !strings.Contains(c, "default-src 'none'") || !strings.Contains(c, "frame-ancestors 'none'") || !strings.Contains(c, "form-action 'self'") || strings.Contains(c, "unsafe") {
			t.Errorf("CSP = %q", c)
		}
		wrong := b.post("/login/", "/login/", url.Values{"username": {"user1@email.com"}, "password": {"nope"}})
		unknown := b.post("/login/", "/login/", url.Values{"username": {"ghost@email.com"}, "password": {"nope"}})
		re := regexp.MustCompile(`id="error" role="alert">([^<]*)<`)
		m1, m2 := re.FindStringSubmatch(wrong.body), re.FindStringSubmatch(unknown.body)
		if m1 == nil || m2 == nil || m1[1] != m2[1] || wrong.status != unknown.status {
			t.Fatalf("wrong password and unknown user differ: %v / %v", m1, m2)
		}
		p = b.login("user1@email.com")
		if p.status != http.StatusSeeOther || p.h.Get("Location") != "/o/applications/" {
			t.Fatalf("login: %d %s", p.status, p.h.Get("Location"))
		}
		sc := p.h.Get("Set-Cookie")
		if !strings.Contains(sc, web.SessionCookie+"=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
			t.Fatalf("session cookie %q", sc)
		}
		first := cookie(b, s, web.SessionCookie)
		// Logging in again from a signed-in page (the login page itself
		// sends a signed-in user on).
		if b.post("/o/applications/", "/login/", url.Values{"username": {"user1@email.com"}, "password": {pw}}); cookie(b, s, web.SessionCookie) == first {
			t.Fatal("session id not rotated at login")
		}
		if p := b.do("GET", "/o/applications/", nil); p.status != 200 || !strings.Contains(p.body, "user1@email.com") {
			t.Fatalf("apps page %d", p.status)
		}
		if p := b.post("/o/applications/", "/logout/", url.Values{}); p.status != http.StatusSeeOther {
			t.Fatalf("logout %d", p.status)
		}
		if p := b.do("GET", "/o/applications/", nil); p.status != http.StatusFound || !strings.HasPrefix(p.h.Get("Location"), "/login/?next=") {
			t.Fatalf("after logout: %d %s", p.status, p.h.Get("Location"))
		}
		// Logout by GET does nothing.
		if p := b.do("GET", "/logout/", nil); p.status == http.StatusSeeOther {
			t.Fatal("GET /logout/ logged out")
		}
		// Throttle: the limit is 5 failures per account.
		for range 5 {
			b.post("/login/", "/login/", url.Values{"username": {"admin@email.com"}, "password": {"bad"}})
		}
		if p := b.login("admin@email.com"); p.status != http.StatusTooManyRequests || p.h.Get("Retry-After") == "" {
			t.Fatalf("throttled login: %d", p.status)
		}
	})
}

func cookie(b *browser, s *site, name string) string {
	u, _ := url.Parse(s.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestCSRFAndOpenRedirect(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		b := s.browser(t)
		b.do("GET", "/login/", nil)
		for _, tok := range []string{"", "forged", strings.Repeat("A", 43)} {
			p := b.do("POST", "/login/", url.Values{"csrfmiddlewaretoken": {tok}, "username": {"user1@email.com"}, "password": {pw}})
			if p.status != http.StatusForbidden || cookie(b, s, web.SessionCookie) != "" {
				t.Fatalf("token %q: %d", tok, p.status)
			}
		}
		b.login("user1@email.com")
		tok := csrfOf(t, b.do("GET", "/o/applications/register/", nil))
		if p := b.do("POST", "/o/applications/register/", url.Values{"csrfmiddlewaretoken": {tok + "x"}, "name": {"x"}}); p.status != http.StatusForbidden {
			t.Fatalf("forged token on register: %d", p.status)
		}
		// A cross-site POST with the right token is refused too.
		req, _ := http.NewRequest("POST", s.srv.URL+"/logout/", strings.NewReader(url.Values{"csrfmiddlewaretoken": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST: %d", resp.StatusCode)
		}
		// next: only same-site paths.
		for _, next := range []string{"//evil.example/", `/\evil.example/`, "https://evil.example/", "javascript:alert(1)", "/%0d%0aX", "\\\\evil", "/\t/evil"} {
			b2 := s.browser(t)
			p := b2.post("/login/?next="+url.QueryEscape(next), "/login/", url.Values{"username": {"user1@email.com"}, "password": {pw}, "next": {next}})
			if loc := p.h.Get("Location"); p.status != http.StatusSeeOther || loc != "/o/applications/" && loc != next || strings.Contains(loc, "evil") && !strings.HasPrefix(loc, "/%") {
				t.Fatalf("next %q: %d %q", next, p.status, loc)
			}
			if loc := p.h.Get("Location"); strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\") || strings.Contains(loc, ":") {
				t.Fatalf("next %q redirected to %q", next, loc)
			}
		}
		if got := web.SafeNext("/o/authorize/?client_id=a&x=%2F%2F"); got == "" {
			t.Fatal("a real path was refused")
		}
	})
}

// register fills the registration form and returns the detail page.
func (b *browser) register(name, clientID, typ, grant, redirects string) (page, string) {
	b.t.Helper()
	form := b.do("GET", "/o/applications/register/", nil)
	secret := regexp.MustCompile(`id="id_client_secret" value="([^"]+)"`).FindStringSubmatch(form.body)
	mark := regexp.MustCompile(`name="secret_mark" value="([^"]+)"`).FindStringSubmatch(form.body)
	if secret == nil || mark == nil {
		b.t.Fatalf("register form lacks a generated secret: %s", form.body)
	}
	p := b.do("POST", "/o/applications/register/", url.Values{"csrfmiddlewaretoken": {csrfOf(b.t, form)}, "name": {name}, "client_id": {clientID},
		"client_secret": {secret[1]}, "secret_mark": {mark[1]}, "client_type": {typ}, "grant_types": strings.Split(grant, ","),
		"redirect_uris": {redirects}, "algorithm": {""}})
	if p.status == http.StatusSeeOther {
		// POST, redirect, GET: the secret is on the page the POST leads to.
		p = b.do("GET", p.h.Get("Location"), nil)
	}
	return p, secret[1]
}

func TestAuthorizationCodeFlowThroughPages(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		b := s.browser(t)
		b.login("user1@email.com")
		cb := s.cb.URL + "/callback"
		p, secret := b.register(`<script>alert("x")</script>`, "web-app", "confidential", "authorization-code", cb)
		if p.status != http.StatusOK || !strings.Contains(p.body, secret) {
			t.Fatalf("register: %d %s", p.status, p.body)
		}
		if strings.Contains(p.body, "<script>alert") || !strings.Contains(p.body, "&lt;script&gt;") {
			t.Fatal("application name not escaped")
		}
		cl, err := s.reg.Store().ByClientID(ctx, "web-app")
		if err != nil || strings.Contains(cl.SecretHash, secret) || !s.reg.VerifySecret(cl, secret) {
			t.Fatalf("stored client: %v", err)
		}
		if list := b.do("GET", "/o/applications/", nil); strings.Contains(list.body, "<script>alert") || !strings.Contains(list.body, "&lt;script&gt;") {
			t.Fatal("list page: name not escaped")
		}
		if d := b.do("GET", "/o/applications/"+itoa(cl.ID)+"/", nil); d.status != 200 || strings.Contains(d.body, secret) {
			t.Fatalf("detail page shows the secret again (%d)", d.status)
		}
		// Another user cannot see it.
		other := s.browser(t)
		other.login("admin@email.com")
		if d := other.do("GET", "/o/applications/"+itoa(cl.ID)+"/", nil); d.status != http.StatusNotFound {
			t.Fatalf("foreign app: %d", d.status)
		}

		verifier := strings.Repeat("v", 50)
		q := url.Values{"response_type": {"code"}, "client_id": {"web-app"}, "redirect_uri": {cb}, "scope": {"read write"}, "state": {"st-1"},
			"code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
		anon := s.browser(t)
		if p := anon.do("GET", "/o/authorize/?"+q.Encode(), nil); p.status != http.StatusFound || !strings.HasPrefix(p.h.Get("Location"), "/login/?next=%2Fo%2Fauthorize%2F") {
			t.Fatalf("anonymous authorize: %d %s", p.status, p.h.Get("Location"))
		}
		consent := b.do("GET", "/o/authorize/?"+q.Encode(), nil)
		if consent.status != 200 || !strings.Contains(consent.body, "Read scope") || !strings.Contains(consent.body, "Write scope") || strings.Contains(consent.body, "Introspect token scope") {
			t.Fatalf("consent page: %d %s", consent.status, consent.body)
		}
		if c := consent.h.Get("Content-Security-Policy"); !strings.Contains(c, "form-action 'self' "+s.cb.URL) {
			t.Fatalf("consent CSP %q", c)
		}
		form := url.Values{"csrfmiddlewaretoken": {csrfOf(t, consent)}, "allow": {"Authorize"}}
		for k, v := range q {
			form[k] = v
		}
		p = b.do("POST", "/o/authorize/", form)
		loc, _ := url.Parse(p.h.Get("Location"))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.h.Get("Location"), cb+"?") || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
			t.Fatalf("approve: %d %s", p.status, p.h.Get("Location"))
		}
		code := loc.Query().Get("code")
		tok := exchange(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}, "code_verifier": {verifier}}, "web-app", secret)
		if tok["access_token"] == nil || tok["refresh_token"] == nil || tok["scope"] != "read write" {
			t.Fatalf("token response %v", tok)
		}
		at := tok["access_token"].(string)
		if e := exchange(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}, "code_verifier": {verifier}}, "web-app", secret); e["error"] != "invalid_grant" {
			t.Fatalf("replay: %v", e)
		}
		if _, err := s.tokens.LookupAccess(ctx, at); err == nil {
			t.Fatal("token from a replayed code still live")
		}
		// Consent remembered: same or narrower scope is not asked again.
		q.Set("scope", "read")
		if p := b.do("GET", "/o/authorize/?"+q.Encode(), nil); p.status != http.StatusFound || !strings.HasPrefix(p.h.Get("Location"), cb+"?code=") {
			t.Fatalf("second authorize asked again: %d %s", p.status, p.h.Get("Location"))
		}
		q.Set("scope", "read introspection")
		if p := b.do("GET", "/o/authorize/?"+q.Encode(), nil); p.status != 200 || !strings.Contains(p.body, "Introspect token scope") {
			t.Fatalf("wider scope not asked: %d", p.status)
		}
		q.Set("scope", "read")
		// Missing verifier.
		p = b.do("GET", "/o/authorize/?"+q.Encode(), nil)
		loc, _ = url.Parse(p.h.Get("Location"))
		if e := exchange(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {cb}}, "web-app", secret); e["error"] != "invalid_grant" {
			t.Fatalf("missing verifier: %v", e)
		}
		// Open redirect through redirect_uri: shown on a page, never redirected.
		for _, ru := range []string{"https://evil.example/callback", cb + "/../evil", cb + "?x=1", strings.ToUpper(cb)} {
			q2 := url.Values{"response_type": {"code"}, "client_id": {"web-app"}, "redirect_uri": {ru}, "code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
			if p := b.do("GET", "/o/authorize/?"+q2.Encode(), nil); p.status != http.StatusBadRequest || p.h.Get("Location") != "" {
				t.Fatalf("redirect_uri %q: %d %s", ru, p.status, p.h.Get("Location"))
			}
		}
		// Errors after the redirect URI is trusted go back to it with state.
		q3 := url.Values{"response_type": {"code"}, "client_id": {"web-app"}, "redirect_uri": {cb}, "state": {"s2"}, "code_challenge": {"x"}, "code_challenge_method": {"plain"}}
		if p := b.do("GET", "/o/authorize/?"+q3.Encode(), nil); p.status != http.StatusFound || !strings.Contains(p.h.Get("Location"), "error=invalid_request") || !strings.Contains(p.h.Get("Location"), "state=s2") {
			t.Fatalf("plain PKCE: %d %s", p.status, p.h.Get("Location"))
		}
		// Deny.
		q.Set("scope", "write introspection")
		consent = b.do("GET", "/o/authorize/?"+q.Encode(), nil)
		form = url.Values{"csrfmiddlewaretoken": {csrfOf(t, consent)}, "cancel": {"Cancel"}}
		for k, v := range q {
			form[k] = v
		}
		if p := b.do("POST", "/o/authorize/", form); !strings.Contains(p.h.Get("Location"), "error=access_denied") {
			t.Fatalf("deny: %s", p.h.Get("Location"))
		}

		// Authorized tokens: listed, and revoking ends the tokens.
		tok2 := exchange(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {codeFor(t, b, q, "read")}, "redirect_uri": {cb}, "code_verifier": {verifier}}, "web-app", secret)
		at2 := tok2["access_token"].(string)
		if g := b.do("GET", "/o/authorized_tokens/", nil); !strings.Contains(g.body, "&lt;script&gt;") {
			t.Fatalf("authorized_tokens: %s", g.body)
		}
		path := "/o/authorized_tokens/" + itoa(cl.ID) + "/delete/"
		if p := b.post(path, path, url.Values{}); p.status != http.StatusSeeOther {
			t.Fatalf("revoke grant: %d", p.status)
		}
		if _, err := s.tokens.LookupAccess(ctx, at2); err == nil {
			t.Fatal("revoked grant's token still live")
		}
		// Deleting the application revokes its tokens.
		tok3 := exchange(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {codeFor(t, b, q, "read")}, "redirect_uri": {cb}, "code_verifier": {verifier}}, "web-app", secret)
		// codeFor consented again above.
		path = "/o/applications/" + itoa(cl.ID) + "/delete/"
		if p := b.post(path, path, url.Values{}); p.status != http.StatusSeeOther {
			t.Fatalf("delete app: %d", p.status)
		}
		if _, err := s.tokens.LookupAccess(ctx, tok3["access_token"].(string)); err == nil {
			t.Fatal("deleted application's token still live")
		}
		if _, err := s.reg.Store().ByClientID(ctx, "web-app"); err == nil {
			t.Fatal("application not deleted")
		}
	})
}

// codeFor runs the consent for q with scope and returns the code.
func codeFor(t *testing.T, b *browser, q url.Values, sc string) string {
	t.Helper()
	q.Set("scope", sc)
	p := b.do("GET", "/o/authorize/?"+q.Encode(), nil)
	if p.status == 200 {
		form := url.Values{"csrfmiddlewaretoken": {csrfOf(t, p)}, "allow": {"Authorize"}}
		for k, v := range q {
			form[k] = v
		}
		p = b.do("POST", "/o/authorize/", form)
	}
	loc, _ := url.Parse(p.h.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code: %d %s", p.status, p.h.Get("Location"))
	}
	return loc.Query().Get("code")
}

func exchange(t *testing.T, s *site, form url.Values, id, secret string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+"/o/token/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAdmin(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		ctx := context.Background()
		u := s.browser(t)
		u.login("user1@email.com")
		if p := u.do("GET", "/admin/users/", nil); p.status != http.StatusForbidden {
			t.Fatalf("non-staff admin: %d", p.status)
		}
		if p := s.browser(t).do("GET", "/admin/users/", nil); p.status != http.StatusFound {
			t.Fatalf("anonymous admin: %d", p.status)
		}
		a := s.browser(t)
		a.login("admin@email.com")
		list := a.do("GET", "/admin/users/?q=USER1", nil)
		if list.status != 200 || !strings.Contains(list.body, "user1@email.com") || strings.Contains(list.body, ">admin@email.com</a>") {
			t.Fatalf("search: %d", list.status)
		}
		if p := a.do("GET", "/admin/users/?is_staff=1", nil); !strings.Contains(p.body, ">admin@email.com</a>") || strings.Contains(p.body, ">user1@email.com</a>") {
			t.Fatal("is_staff filter")
		}
		p := a.post("/admin/users/add/", "/admin/users/add/", url.Values{"email": {"new@email.com"}, "password1": {pw}, "password2": {pw + "x"}, "is_active": {"1"}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "did not match") {
			t.Fatalf("add mismatch: %d", p.status)
		}
		p = a.post("/admin/users/add/", "/admin/users/add/", url.Values{"email": {"new@email.com"}, "password1": {pw}, "password2": {pw}, "is_active": {"1"}, "is_staff": {"1"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("add: %d %s", p.status, p.body)
		}
		nu, err := s.svc.Store().ByEmail(ctx, "new@email.com")
		if err != nil || !nu.IsStaff || !nu.IsActive {
			t.Fatalf("added user %+v %v", nu, err)
		}
		if p := a.post("/admin/groups/add/", "/admin/groups/add/", url.Values{"name": {"editors"}}); p.status != http.StatusSeeOther {
			t.Fatalf("group add: %d", p.status)
		}
		gs, _ := s.svc.Store().Groups(ctx)
		if len(gs) != 1 {
			t.Fatalf("groups %v", gs)
		}
		// The change form never shows the password hash.
		path := "/admin/users/" + itoa(s.user.ID) + "/"
		ch := a.do("GET", path, nil)
		if strings.Contains(ch.body, "argon2") || strings.Contains(ch.body, s.user.Password) {
			t.Fatal("password hash shown")
		}
		// A password reset by an admin revokes the user's tokens and ends
		// the user's browser sessions, though the user stays active.
		live, err := s.tokens.Issue(ctx, grant.Grant{ClientID: "c", UserID: s.user.ID, Username: s.user.Email, Scope: "read"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if p := u.do("GET", "/o/applications/", nil); p.status != http.StatusOK {
			t.Fatalf("user's session before the reset: %d", p.status)
		}
		p = a.post(path, path, url.Values{"email": {"user1@email.com"}, "is_active": {"1"}, "password1": {pw + "-reset"}, "password2": {pw + "-reset"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("password reset: %d %s", p.status, p.body)
		}
		if _, err := s.tokens.LookupRefresh(ctx, live.RefreshToken); err == nil {
			t.Fatal("a refresh token survived the admin's password reset")
		}
		if p := u.do("GET", "/o/applications/", nil); p.status != http.StatusFound {
			t.Fatalf("the user's session survived the password reset: %d", p.status)
		}
		u = s.browser(t)
		if p := u.loginWith("user1@email.com", pw+"-reset"); p.status != http.StatusSeeOther && p.status != http.StatusFound {
			t.Fatalf("login with the new password: %d", p.status)
		}
		// Deactivating revokes the user's tokens.
		// Issued as a grant does: under the generation read before the
		// user is checked.
		gen, err := s.tokens.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		iss, err := s.tokens.Issue(ctx, grant.Grant{ClientID: "c", UserID: s.user.ID, Username: s.user.Email, Scope: "read",
			Checked: grant.Checked{User: gen, Client: gen}}, true)
		if err != nil {
			t.Fatal(err)
		}
		p = a.post(path, path, url.Values{"email": {"user1@email.com"}, "groups": {itoa(gs[0].ID)}})
		if p.status != http.StatusOK || !strings.Contains(p.body, `id="confirm"`) {
			t.Fatalf("deactivation confirmation: %d %s", p.status, p.body)
		}
		p = a.do("POST", path, formFields(t, p, path))
		if p.status != http.StatusSeeOther {
			t.Fatalf("change: %d %s", p.status, p.body)
		}
		if _, err := s.tokens.LookupAccess(ctx, iss.AccessToken); err == nil {
			t.Fatal("deactivated user's token still live")
		}
		if ids, _ := s.svc.Store().UserGroupIDs(ctx, s.user.ID); len(ids) != 1 {
			t.Fatalf("groups not saved: %v", ids)
		}
		// The deactivated user's session is over.
		if p := u.do("GET", "/o/applications/", nil); p.status != http.StatusFound {
			t.Fatalf("deactivated user's session still works: %d", p.status)
		}
		// Applications: list, search, edit, delete.
		cl := clients.Client{ClientID: "rs-id", Name: "resource-server", Type: clients.Confidential, GrantTypesRaw: "password", SecretHash: clients.HashGeneratedSecret("s"),
			UserID: sql.NullInt64{Int64: s.staff.ID, Valid: true}}
		if err := s.reg.Store().Create(ctx, &cl); err != nil {
			t.Fatal(err)
		}
		if p := a.do("GET", "/admin/applications/?q=RESOURCE", nil); !strings.Contains(p.body, "rs-id") {
			t.Fatal("app search")
		}
		ap := "/admin/applications/" + itoa(cl.ID) + "/"
		p = a.post(ap, ap, url.Values{"name": {"renamed"}, "client_id": {"rs-id"}, "client_type": {"confidential"}, "grant_types": {"password"}, "skip_authorization": {"1"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("admin app edit: %d %s", p.status, p.body)
		}
		got, _ := s.reg.Store().ByClientID(ctx, "rs-id")
		if got.Name != "renamed" || !got.SkipAuthorization || got.SecretHash != cl.SecretHash {
			t.Fatalf("edited app %+v", got)
		}
		if p := a.post(ap+"delete/", ap+"delete/", url.Values{}); p.status != http.StatusSeeOther {
			t.Fatalf("admin app delete: %d", p.status)
		}
		if _, err := s.reg.Store().ByClientID(ctx, "rs-id"); err == nil {
			t.Fatal("not deleted")
		}
		// Bad ids are 404, never 500.
		for _, bad := range []string{"/admin/users/x/", "/admin/users/99999/", "/admin/groups/x/", "/admin/applications/-1/", "/o/applications/abc/"} {
			if p := a.do("GET", bad, nil); p.status != http.StatusNotFound {
				t.Fatalf("%s: %d", bad, p.status)
			}
		}
	})
}
