package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// eventually polls f with servicetest.Until until it returns nil, and
// fails with f's last error when the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	var last error
	if !servicetest.Until(within, func() bool { last = f(); return last == nil }) {
		t.Fatalf("%s: not within %s: %v", what, within, last)
	}
}

// oidcStack is a running auth server (real binary) with OpenID Connect on,
// a callback server standing in for the relying party's redirect URIs,
// and a headless Chromium.
type oidcStack struct {
	t        testing.TB
	bin      string
	env      []string
	cb       string // the callback server's base URL
	calls    chan *url.URL
	browser  context.Context
	prefix   string
	logDir   string
	tmp      string
	dbURL    string
	redisEnv []string
	// pages are the pages the last authorize went through.
	pages []string
}

func newOIDCStack(t *testing.T) *oidcStack {
	t.Helper()
	return newStack(t, true)
}

// newStack is newOIDCStack, without Chromium when browser is false.
func newStack(t testing.TB, browser bool) *oidcStack {
	t.Helper()
	chrome := findChromium()
	if !browser {
		chrome = "none"
	}
	if chrome == "" {
		servicetest.Missing(t, "chromium (apt-get install -y chromium chromium-driver)")
	}
	if browser && testing.Short() {
		t.Skip("SKIPPED: -short")
	}
	s := &oidcStack{t: t, tmp: t.TempDir(), calls: make(chan *url.URL, 16)}
	s.logDir = os.Getenv("TEST_ARTIFACTS")
	if s.logDir == "" {
		s.logDir = s.tmp
	} else {
		s.logDir = filepath.Join(s.logDir, "openid")
		if err := os.MkdirAll(s.logDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if tt, ok := t.(*testing.T); ok {
		s.dbURL = testenv.PostgresURLIfSet(tt)
	} else if os.Getenv("TEST_DATABASE_URL") != "" { // a benchmark
		s.dbURL = testenv.PostgresURL(t)
	}
	if s.dbURL == "" {
		s.dbURL = testenv.SQLiteURL(t)
	}
	s.prefix = testenv.Prefix()
	if redisURL := os.Getenv("TEST_REDIS_URL"); redisURL != "" {
		_, s.prefix = testenv.Redis(t)
		s.redisEnv = []string{"REDIS_URL=" + redisURL}
	} else {
		addr, _ := freeAddr(t)
		s.redisEnv = []string{"EMBEDDED_REDIS_ADDR=" + addr}
	}
	s.bin = filepath.Join(s.tmp, "authserver")
	if err := goBuild(t, ".", s.bin, "."); err != nil {
		t.Fatal(err)
	}
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		s.calls <- r.URL
		fmt.Fprint(w, "<!doctype html><title>rp</title><p id=done>Relying party reached.</p>")
	}))
	t.Cleanup(cb.Close)
	s.cb = cb.URL

	if !browser {
		return s
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(s.tmp, "chrome")), chromedp.WindowSize(1200, 900))
	t.Cleanup(cancelAlloc)
	bctx, cancelB := chromedp.NewContext(alloc)
	t.Cleanup(cancelB)
	bctx, cancelT := context.WithTimeout(bctx, 4*time.Minute)
	t.Cleanup(cancelT)
	s.browser = bctx
	return s
}

// start runs one auth server; extra are more environment variables. With
// dot, its id tokens' issuer is DOT's: the base URL + "/o".
func (s *oidcStack) start(name string, dot bool, extra ...string) string {
	s.t.Helper()
	_, port := freeAddr(s.t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if dot {
		extra = append(extra, "OIDC_ISSUER="+base+"/o")
	}
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.tmp, "PORT=" + fmt.Sprint(port), "DATABASE_URL=" + s.dbURL,
		"REDIS_PREFIX=" + s.prefix, "ISSUER_URL=" + base, "ARGON2_TIME=1", "ARGON2_MEMORY_KIB=1024", "LOG_FORMAT=text",
		"CLIENT_CACHE_TTL=0s", "KEY_ENCRYPTION_KEY=" + testKEK}, s.redisEnv...)
	env = append(env, extra...)
	if s.env == nil {
		s.env = env
	}
	startProcess(s.t, s.bin, env, filepath.Join(s.logDir, name+".log"), "serve")
	waitHTTP(s.t, base+"/healthz")
	return base
}

// cli runs the binary with the first server's environment.
func (s *oidcStack) cli(args ...string) string {
	s.t.Helper()
	return s.cliEnv(nil, args...)
}

// cliEnv is cli with more environment variables.
func (s *oidcStack) cliEnv(extra []string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(append([]string(nil), s.env...), extra...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("authserver %v: %v\n%s", args, err, b)
	}
	return string(b)
}

// do runs browser actions.
func (s *oidcStack) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.browser, actions...); err != nil {
		s.t.Fatalf("%s: %v", step, err)
	}
}

// authorize opens authURL in the browser, signs in and consents when
// asked, and returns the query the relying party received.
func (s *oidcStack) authorize(authURL, email, password string) url.Values {
	s.t.Helper()
	s.do("open "+authURL, chromedp.Navigate(authURL))
	s.pages = nil
	for range 4 {
		var page string
		s.do("wait for a page", chromedp.WaitVisible("#id_username, #allow, #done"),
			capture(chromedp.Evaluate[string](`document.querySelector("#done") ? "rp" : document.querySelector("#allow") ? "consent" : "login"`), &page))
		s.pages = append(s.pages, page)
		switch page {
		case "login":
			s.do("sign in", chromedp.SendKeys("#id_username", email),
				chromedp.SendKeys("#id_password", password), chromedp.Click("#login"), chromedp.WaitNotPresent("#login"))
		case "consent":
			s.do("consent", chromedp.Click("#allow"), chromedp.WaitNotPresent("#allow"))
		case "rp":
			return s.received()
		}
	}
	s.t.Fatal("the authorization did not reach the relying party")
	return nil
}

func (s *oidcStack) received() url.Values {
	s.t.Helper()
	select {
	case u := <-s.calls:
		return u.Query()
	case <-time.After(15 * time.Second):
		s.t.Fatal("the relying party received nothing")
		return nil
	}
}

func (s *oidcStack) signup(base, email, password string) {
	s.t.Helper()
	resp, err := http.PostForm(base+"/users/signup/", url.Values{"email": {email}, "password": {password}, "password2": {password}})
	if err != nil || resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("signup: %v %v", resp, err)
	}
	resp.Body.Close()
}

// rp is a relying party built on go-oidc and x/oauth2, as an application
// would build it: everything comes from discovery.
type rp struct {
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	conf     *oauth2.Config
}

func newRP(t *testing.T, issuer, clientID, secret, redirect string, scopes ...string) rp {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery of %s: %v", issuer, err)
	}
	return rp{provider: p, verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		conf: &oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Endpoint: p.Endpoint(),
			Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}}
}

// signIn runs code + PKCE + nonce through the browser and verifies the id
// token, its nonce and at_hash.
func (r rp) signIn(t *testing.T, s *oidcStack, email, password string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, *oidc.IDToken, string) {
	t.Helper()
	verifier, state, nonce := oauth2.GenerateVerifier(), "st-"+oauth2.GenerateVerifier()[:8], "n-"+oauth2.GenerateVerifier()[:12]
	q := s.authorize(r.conf.AuthCodeURL(state, append(opts, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))...), email, password)
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("callback %v", q)
	}
	tok, err := r.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("id token does not verify against JWKS: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return tok, idt, raw
}

func claimsOf(t *testing.T, idt *oidc.IDToken) map[string]any {
	t.Helper()
	var m map[string]any
	if err := idt.Claims(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Kid
}

func introspectSub(t *testing.T, base, id, secret, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/o/introspect/", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Active bool   `json:"active"`
		Sub    string `json:"sub"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&v)
	if !v.Active {
		t.Fatal("introspection: token inactive")
	}
	return v.Sub
}

// refreshed refreshes tok and verifies the new id token: same sub and
// auth_time, no nonce (Core §12.2).
func (r rp) refreshed(t *testing.T, tok *oauth2.Token, first *oidc.IDToken) (*oauth2.Token, *oidc.IDToken, string) {
	t.Helper()
	nt, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	raw, _ := nt.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("refreshed id token: %v", err)
	}
	c0, c1 := claimsOf(t, first), claimsOf(t, idt)
	if idt.Subject != first.Subject || c1["auth_time"] != c0["auth_time"] || idt.Nonce != "" {
		t.Fatalf("refreshed id token claims %v, first %v", c1, c0)
	}
	if err := idt.VerifyAccessToken(nt.AccessToken); err != nil {
		t.Fatalf("refreshed at_hash: %v", err)
	}
	return nt, idt, raw
}

// logout is RP-initiated logout with the id token as hint: the browser
// lands on the registered post-logout URI with state, and the session is
// over.
func (r rp) logout(t *testing.T, s *oidcStack, rawIDToken, postLogout string) {
	t.Helper()
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := r.provider.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("end_session_endpoint: %v %q", err, meta.EndSession)
	}
	u := meta.EndSession + "?" + url.Values{"id_token_hint": {rawIDToken}, "post_logout_redirect_uri": {postLogout}, "state": {"bye"}}.Encode()
	s.do("logout", chromedp.Navigate(u), chromedp.WaitVisible("#done"))
	q := s.received()
	if q.Get("state") != "bye" {
		t.Fatalf("post-logout redirect query %v", q)
	}
}

// promptNone asks for a silent sign-in and returns the error the relying
// party received.
func (r rp) promptNone(t *testing.T, s *oidcStack, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	opts = append(opts, oauth2.SetAuthURLParam("prompt", "none"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	s.do("prompt=none", chromedp.Navigate(r.conf.AuthCodeURL("silent", opts...)), chromedp.WaitVisible("#done"))
	q := s.received()
	if q.Get("state") != "silent" || q.Get("code") != "" {
		t.Fatalf("prompt=none answer %v", q)
	}
	return q.Get("error")
}

// TestOpenIDConnectRelyingParty is the acceptance: a relying party
// on go-oidc and x/oauth2 against the real binary, through Chromium.
func TestOpenIDConnectRelyingParty(t *testing.T) {
	s := newOIDCStack(t)
	base := s.start("authserver", false, "ID_TOKEN_LIFETIME=40s")
	cbURL, postLogout := s.cb+"/callback", s.cb+"/logged-out"
	s.cli("createclient", "--name", "rp", "--client-id", "rp", "--client-secret", "rp-secret", "--grant-types", "authorization_code",
		"--redirect-uris", cbURL, "--post-logout-redirect-uris", postLogout)
	s.cli("createclient", "--name", "rp-es", "--client-id", "rp-es", "--client-secret", "rp-es-secret", "--grant-types", "authorization_code",
		"--redirect-uris", cbURL, "--algorithm", "ES256", "--skip-authorization")
	const email, password = "oidc@example.com", "Str0ng-pass-w0rd"
	s.signup(base, email, password)
	ctx := context.Background()

	r := newRP(t, base, "rp", "rp-secret", cbURL, oidc.ScopeEmail)
	// prompt=none without a session: login_required at the redirect URI.
	if e := r.promptNone(t, s); e != "login_required" {
		t.Fatalf("prompt=none without a session: %q, want login_required", e)
	}

	tok, idt, raw := r.signIn(t, s, email, password)
	claims := claimsOf(t, idt)
	if claims["email"] != email || claims["email_verified"] != false || claims["auth_time"] == nil || idt.Issuer != base {
		t.Fatalf("id token claims %v", claims)
	}
	// sub is the same in the id token, userinfo and introspection.
	ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != idt.Subject || ui.Email != email {
		t.Fatalf("userinfo %+v, %v (id token sub %s)", ui, err, idt.Subject)
	}
	if sub := introspectSub(t, base, "rp", "rp-secret", tok.AccessToken); sub != idt.Subject {
		t.Fatalf("introspection sub %q, id token sub %q", sub, idt.Subject)
	}
	// A nonce mismatch is detectable: the id token carries the nonce of
	// its own request, never another one's.
	if idt.Nonce == "" || idt.Nonce == "n-other" {
		t.Fatal("nonce not echoed")
	}
	// prompt=none with a session and consent given: a code, silently.
	_, _, _ = r.signIn(t, s, email, password, oauth2.SetAuthURLParam("prompt", "none"))
	// prompt=login and max_age=0 make the signed-in user sign in again;
	// a max_age the session meets does not.
	for _, tt := range []struct {
		name  string
		opt   oauth2.AuthCodeOption
		login bool
	}{
		{"prompt=login", oauth2.SetAuthURLParam("prompt", "login"), true},
		{"max_age=0", oauth2.SetAuthURLParam("max_age", "0"), true},
		{"max_age=3600", oauth2.SetAuthURLParam("max_age", "3600"), false},
		{"prompt=consent", oauth2.SetAuthURLParam("prompt", "consent"), false},
	} {
		_, again, _ := r.signIn(t, s, email, password, tt.opt)
		if slices.Contains(s.pages, "login") != tt.login {
			t.Fatalf("%s: pages %v", tt.name, s.pages)
		}
		if tt.name == "prompt=consent" && !slices.Contains(s.pages, "consent") {
			t.Fatalf("prompt=consent did not ask: %v", s.pages)
		}
		if at, at0 := claimsOf(t, again)["auth_time"].(float64), claims["auth_time"].(float64); tt.login && at < at0 {
			t.Fatalf("%s: auth_time %v before the first sign-in's %v", tt.name, at, at0)
		}
	}
	// prompt=none with an id_token_hint for the signed-in user: silent.
	_, _, _ = r.signIn(t, s, email, password, oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", raw))
	// prompt=none for a scope not consented to yet: consent_required.
	wider := newRP(t, base, "rp", "rp-secret", cbURL, oidc.ScopeEmail, "read")
	if e := wider.promptNone(t, s); e != "consent_required" {
		t.Fatalf("prompt=none needing consent: %q, want consent_required", e)
	}

	// Refresh: a new id token for the same sign-in.
	tok, idt, raw = r.refreshed(t, tok, idt)

	// Without openid there is no id token, even for the same client.
	plain := *r.conf
	plain.Scopes = []string{"read"}
	v := oauth2.GenerateVerifier()
	q := s.authorize(plain.AuthCodeURL("plain", oauth2.S256ChallengeOption(v)), email, password)
	pt, err := plain.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil || pt.Extra("id_token") != nil {
		t.Fatalf("a grant without openid: %v, id_token %v", err, pt.Extra("id_token"))
	}

	// The ES256 client's id tokens are ES256, verified from the same JWKS.
	res := newRP(t, base, "rp-es", "rp-es-secret", cbURL)
	_, _, esRaw := res.signIn(t, s, email, password)
	if hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(esRaw, ".")[0]); !strings.Contains(string(hdr), `"ES256"`) {
		t.Fatalf("ES256 client's id token header %s", hdr)
	}

	// A wrong kid, or an expired token, fails verification.
	parts := strings.Split(raw, ".")
	forged, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "not-a-published-key", "typ": "JWT"})
	if _, err := r.verifier.Verify(ctx, base64.RawURLEncoding.EncodeToString(forged)+"."+parts[1]+"."+parts[2]); err == nil {
		t.Fatal("a token with a wrong kid verified")
	}
	late := r.provider.Verifier(&oidc.Config{ClientID: "rp", Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if _, err := late.Verify(ctx, raw); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired id token: %v", err)
	}

	// keys rotate: the new key is published first, then signs; tokens of
	// the old and the new key both verify.
	oldKid := kidOf(t, raw)
	s.cli("keys", "rotate", "--sign-after", "0s")
	var newRaw string
	eventually(t, 30*time.Second, "the rotated key signs", func() error {
		var err error
		tok, idt, newRaw = r.refreshed(t, tok, idt)
		if kidOf(t, newRaw) == oldKid {
			err = fmt.Errorf("still signed by %s", oldKid)
		}
		return err
	})
	if _, err := r.verifier.Verify(ctx, newRaw); err != nil {
		t.Fatalf("new key's token: %v", err)
	}
	if _, err := r.verifier.Verify(ctx, raw); err != nil {
		t.Fatalf("old key's token after rotation: %v", err)
	}
	if out := s.cli("keys", "list"); !strings.Contains(out, oldKid) || !strings.Contains(out, "superseded") {
		t.Fatalf("keys list after rotation:\n%s", out)
	}

	// RP-initiated logout ends the browser session.
	r.logout(t, s, newRaw, postLogout)
	if e := r.promptNone(t, s); e != "login_required" {
		t.Fatalf("prompt=none after logout: %q, want login_required", e)
	}

	// Once the old key's last id token has expired, it leaves JWKS, and a
	// token it signed fails in go-oidc even with expiry checks off.
	eventually(t, 90*time.Second, "the superseded key retires", func() error {
		resp, err := http.Get(base + "/o/.well-known/jwks.json")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), oldKid) {
			return fmt.Errorf("%s still published", oldKid)
		}
		return nil
	})
	fresh := newRP(t, base, "rp", "rp-secret", cbURL)
	lenient := fresh.provider.Verifier(&oidc.Config{ClientID: "rp", SkipExpiryCheck: true})
	if _, err := lenient.Verify(ctx, raw); err == nil {
		t.Fatal("a retired key's token verified")
	}
	if out := s.cli("keys", "list"); !strings.Contains(out, "retired") {
		t.Fatalf("keys list after retirement:\n%s", out)
	}
	// The admin shows the same, read-only.
	s.cliEnv([]string{"SUPERUSER_PASSWORD=Adm1n-pass-w0rd"}, "createsuperuser", "--no-input", "--email", "admin@example.com")
	var keysPage string
	s.do("admin keys", chromedp.Navigate(base+"/login/?next=/admin/keys/"), chromedp.WaitVisible("#id_username"),
		chromedp.SendKeys("#id_username", "admin@example.com"), chromedp.SendKeys("#id_password", "Adm1n-pass-w0rd"),
		chromedp.Click("#login"), chromedp.WaitVisible("#keys"), capture(chromedp.Text("#keys"), &keysPage))
	if !strings.Contains(keysPage, oldKid) || !strings.Contains(keysPage, "retired") || !strings.Contains(keysPage, "signing") {
		t.Fatalf("admin keys page:\n%s", keysPage)
	}
	// prompt=none with an id_token_hint of another user than the one
	// signed in (the admin now): login_required, before any consent check.
	if e := r.promptNone(t, s, oauth2.SetAuthURLParam("id_token_hint", newRaw)); e != "login_required" {
		t.Fatalf("prompt=none with another user's id_token_hint: %q, want login_required", e)
	}
}

// TestOpenIDConnectDOTPaths runs the same relying party against DOT's
// paths: an issuer ending in /o (DOT's), whose discovery document is
// /o/.well-known/openid-configuration, with /o/userinfo/, JWKS at
// /o/.well-known/jwks.json and /o/logout/.
func TestOpenIDConnectDOTPaths(t *testing.T) {
	s := newOIDCStack(t)
	base := s.start("authserver-dot", true)
	cbURL, postLogout := s.cb+"/callback", s.cb+"/logged-out"
	s.cli("createclient", "--name", "dot-rp", "--client-id", "dot-rp", "--client-secret", "dot-secret", "--grant-types", "authorization_code",
		"--redirect-uris", cbURL, "--post-logout-redirect-uris", postLogout)
	const email, password = "dot@example.com", "Str0ng-pass-w0rd"
	s.signup(base, email, password)

	r := newRP(t, base+"/o", "dot-rp", "dot-secret", cbURL, oidc.ScopeEmail)
	var meta struct {
		JWKS     string `json:"jwks_uri"`
		UserInfo string `json:"userinfo_endpoint"`
		Logout   string `json:"end_session_endpoint"`
	}
	if err := r.provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.JWKS != base+"/o/.well-known/jwks.json" || meta.UserInfo != base+"/o/userinfo/" || meta.Logout != base+"/o/logout/" {
		t.Fatalf("DOT paths in discovery: %+v", meta)
	}
	for _, p := range []string{"/o/.well-known/openid-configuration/", "/o/.well-known/openid-configuration"} {
		resp, err := http.Get(base + p)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	tok, idt, _ := r.signIn(t, s, email, password)
	if idt.Issuer != base+"/o" {
		t.Fatalf("iss %q", idt.Issuer)
	}
	ui, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != idt.Subject || ui.Email != email {
		t.Fatalf("userinfo %+v, %v", ui, err)
	}
	_, _, raw := r.refreshed(t, tok, idt)
	r.logout(t, s, raw, postLogout)
	if e := r.promptNone(t, s); e != "login_required" {
		t.Fatalf("prompt=none after logout: %q", e)
	}
}
