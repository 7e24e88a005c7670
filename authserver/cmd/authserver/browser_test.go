package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// findChromium returns the Chromium binary, or "" when there is none.
func findChromium() string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func freeAddr(t testing.TB) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
}

func goBuild(t testing.TB, dir, out, pkg string) error {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg) // go test puts its own go first on PATH
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// startProcess starts bin with env and stops it (by its PID) at cleanup.
func startProcess(t testing.TB, bin string, env []string, logPath string, args ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logf.Close()
	})
}

func waitHTTP(t testing.TB, u string) {
	t.Helper()
	servicetest.Eventually(t, 30*time.Second, u+" comes up", func() bool {
		resp, err := http.Get(u)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < 500
	})
}

// TestBrowserAcceptance drives headless Chromium through the issue's
// acceptance steps against the real binaries.
func TestBrowserAcceptance(t *testing.T) {
	chrome := findChromium()
	if chrome == "" {
		servicetest.Missing(t, "chromium (apt-get install -y chromium chromium-driver)")
	}
	if testing.Short() {
		t.Skip("SKIPPED in -short: drives Chromium through every page")
	}
	out := os.Getenv("TEST_ARTIFACTS")
	if out == "" {
		out = t.TempDir()
	} else {
		out = filepath.Join(out, "browser")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots and logs: %s", out)
	tmp := t.TempDir()

	// Stores: PostgreSQL and Redis when set, else SQLite and the embedded Redis.
	dbURL := testenv.PostgresURLIfSet(t)
	if dbURL == "" {
		dbURL = testenv.SQLiteURL(t)
	}
	prefix := testenv.Prefix()
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL != "" {
		_, prefix = testenv.Redis(t) // its keys go when the test ends
	} else {
		// What did not run shows in make test's summary (fails under CI=true).
		t.Run("redis", func(t *testing.T) { servicetest.Require(t, "TEST_REDIS_URL") })
	}
	_, port := freeAddr(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "PORT=" + fmt.Sprint(port), "DATABASE_URL=" + dbURL, "REDIS_PREFIX=" + prefix,
		"ISSUER_URL=" + base, "ARGON2_TIME=1", "ARGON2_MEMORY_KIB=1024", "LOG_FORMAT=text", "CLIENT_CACHE_TTL=0s"}
	if redisURL != "" {
		env = append(env, "REDIS_URL="+redisURL)
	} else {
		addr, _ := freeAddr(t)
		redisURL = "redis://" + addr
		env = append(env, "EMBEDDED_REDIS_ADDR="+addr)
	}

	bin := filepath.Join(tmp, "authserver")
	if err := goBuild(t, ".", bin, "."); err != nil {
		t.Fatal(err)
	}
	// 1. The superuser, made by the real createsuperuser --no-input path.
	cs := exec.Command(bin, "createsuperuser", "--no-input", "--email", "admin@email.com")
	cs.Env = append(append([]string(nil), env...), "SUPERUSER_PASSWORD=testpass123")
	if b, err := cs.CombinedOutput(); err != nil {
		t.Fatalf("createsuperuser: %v\n%s", err, b)
	}
	startProcess(t, bin, env, filepath.Join(out, "authserver.log"), "serve")
	waitHTTP(t, base+"/healthz")

	codes := make(chan url.Values, 4)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" { // favicon.ico
			http.NotFound(w, r)
			return
		}
		codes <- r.URL.Query()
		fmt.Fprint(w, "<!doctype html><title>callback</title><p id=done>Callback received.</p>")
	}))
	defer cb.Close()
	cbURL := cb.URL + "/callback"

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(tmp, "chrome")), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(alloc)
	defer cancelB()
	// Every page is audited twice with axe-core: minutes on a busy machine.
	bctx, cancelT := context.WithTimeout(bctx, 10*time.Minute)
	defer cancelT()

	shot := 0
	snap := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			shot++
			return os.WriteFile(filepath.Join(out, fmt.Sprintf("%02d-%s.png", shot, fileSafe(name))), buf, 0o644)
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// Every page is audited at 1280×900 and 390×844: no horizontal
	// overflow, no critical or serious axe-core violation.
	docs := os.Getenv("SCREENSHOTS_DIR")
	if docs != "" {
		if err := os.MkdirAll(docs, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	aud := &auditor{t: t, ctx: bctx, base: base, out: out, docs: docs}
	defer func() {
		t.Logf("audited %d pages at %d viewports: %s", len(aud.pages), len(viewports), strings.Join(aud.pages, ", "))
	}()
	// href reads the href of the first element sel matches.
	href := func(sel string) string {
		t.Helper()
		var h string
		run("href of "+sel, chromedp.WaitVisible(sel), capture(chromedp.Evaluate[string](`document.querySelector(`+"`"+sel+"`"+`).getAttribute("href")`), &h))
		return h
	}

	// 1. Log in as the superuser (a wrong password first).
	aud.check("login", "/login/?next=/o/applications/")
	run("login error", chromedp.SendKeys("#id_username", "admin@email.com"), chromedp.SendKeys("#id_password", "wrong"),
		chromedp.Click("#login"), chromedp.WaitVisible("#error"))
	aud.check("login-error", "")
	run("login",
		chromedp.Navigate(base+"/login/?next=/o/applications/"), chromedp.WaitVisible("#id_username"), snap("login"),
		chromedp.SendKeys("#id_username", "admin@email.com"), chromedp.SendKeys("#id_password", "testpass123"),
		chromedp.Click("#login"), chromedp.WaitVisible("#register"), snap("applications"))
	aud.check("applications", "/o/applications/")

	// 2. Register applications through the form. First the seed's, exactly
	// as it describes, then a web app using the authorization code grant.
	register := func(name, id, secret, grant, redirects string) (string, string) {
		var gotID, gotSecret string
		actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/o/applications/register/"), chromedp.WaitVisible("#id_name"), snap("register-" + name),
			chromedp.SendKeys("#id_name", name)}
		if id != "" {
			actions = append(actions, chromedp.SetValue("#id_client_id", id))
		}
		if secret != "" {
			actions = append(actions, chromedp.SetValue("#id_client_secret", secret))
		}
		actions = append(actions, chromedp.SetValue("#id_client_type", "confidential"))
		// The form starts with the authorization code grant ticked.
		for _, g := range []string{"authorization_code", "password", "client_credentials", "refresh_token"} {
			if strings.Contains(","+grant+",", ","+g+",") != (g == "authorization_code") {
				actions = append(actions, chromedp.Click("#id_grant_"+g))
			}
		}
		if redirects != "" { // the textarea starts empty: "leave this empty"
			actions = append(actions, chromedp.SendKeys("#id_redirect_uris", redirects))
		}
		// Algorithm: "No OIDC support" is the only choice and is selected.
		actions = append(actions, snap("register-"+name+"-filled"),
			// The copy button shows only when copy.js ran: under the page's
			// CSP, from /static/, with nothing inline.
			chromedp.Click("#save"), chromedp.WaitVisible("#client_secret"), chromedp.WaitVisible("#copy"), snap("registered-"+name),
			capture(chromedp.Text("#client_id"), &gotID), capture(chromedp.Text("#client_secret"), &gotSecret))
		for i, a := range actions {
			run(fmt.Sprintf("register %s, step %d", name, i), a)
		}
		return strings.TrimSpace(gotID), strings.TrimSpace(gotSecret)
	}
	aud.check("register", "/o/applications/register/")
	run("register with errors", chromedp.Click("#id_grant_authorization_code"), chromedp.Click("#save"), chromedp.WaitVisible("#id_name_error"))
	aud.check("register-errors", "")
	rsID, rsSecret := register("resource-server", "rs-id", "rs-secret", "password,refresh_token", "")
	aud.check("secret", "")
	if rsID != "rs-id" || rsSecret != "rs-secret" {
		t.Fatalf("seed application registered as %q", rsID)
	}
	webID, webSecret := register("web-client", "", "", "authorization_code", cbURL)
	if webID == "" || !strings.HasPrefix(webSecret, "pcs_") {
		t.Fatal("generated client id/secret missing")
	}
	var escaped string
	register(`<img src=x onerror=alert(1)>`, "xss-app", "", "password", "")
	run("escaped name", chromedp.Navigate(base+"/o/applications/"), chromedp.WaitVisible("#apps"), capture(chromedp.Text("#apps"), &escaped), snap("applications-escaped"))
	if !strings.Contains(escaped, "<img src=x onerror=alert(1)>") {
		t.Fatalf("an HTML application name was not shown as text: %q", escaped)
	}
	app := href("#apps li:last-child a")
	aud.check("application", app)
	aud.check("application-edit", app+"update/")
	aud.check("application-delete", app+"delete/")

	// 3. Authorization code + PKCE with consent, exchanged by x/oauth2.
	conf := &oauth2.Config{ClientID: webID, ClientSecret: webSecret, RedirectURL: cbURL, Scopes: []string{"read", "write"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/o/authorize/", TokenURL: base + "/o/token/", AuthStyle: oauth2.AuthStyleInHeader}}
	verifier := oauth2.GenerateVerifier()
	state := "st-" + prefix[1:9]
	var scopes string
	run("consent page", chromedp.Navigate(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))), chromedp.WaitVisible("#allow"))
	aud.check("consent", "")
	run("consent", capture(chromedp.Text("#scopes"), &scopes), snap("consent"), chromedp.Click("#allow"), chromedp.WaitVisible("#done"), snap("callback"))
	if !strings.Contains(scopes, "Read scope") || !strings.Contains(scopes, "Write scope") {
		t.Fatalf("consent scopes %q", scopes)
	}
	var q url.Values
	select {
	case q = <-codes:
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
	}
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	ctx := context.Background()
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("replayed code: %v", err)
	}
	// The replay revoked the first exchange's tokens; run the flow again
	// (consent is remembered now: straight to the callback).
	run("second authorize", chromedp.Navigate(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))), chromedp.WaitVisible("#done"))
	q = <-codes
	if tok, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("second Exchange: %v", err)
	}

	// A user with a password-grant token from the seed's application.
	signup, _ := http.PostForm(base+"/users/signup/", url.Values{"email": {"user1@email.com"}, "password": {"Str0ng-pass-w0rd"}, "password2": {"Str0ng-pass-w0rd"}})
	if signup == nil || signup.StatusCode != 201 {
		t.Fatalf("signup failed")
	}
	signup.Body.Close()
	pwConf := &oauth2.Config{ClientID: "rs-id", ClientSecret: "rs-secret", Endpoint: oauth2.Endpoint{TokenURL: base + "/o/token/", AuthStyle: oauth2.AuthStyleInHeader}}
	userTok, err := pwConf.PasswordCredentialsToken(ctx, "user1@email.com", "Str0ng-pass-w0rd")
	if err != nil {
		t.Fatalf("password grant with the seed application: %v", err)
	}

	// The resource server, as a real process when it builds.
	check := resourceChecker(t, tmp, out, base, redisURL, prefix)
	if got := check(tok.AccessToken); got != http.StatusOK {
		t.Fatalf("authorization code token at the resource server: %d", got)
	}
	if got := check(userTok.AccessToken); got != http.StatusOK {
		t.Fatalf("user token at the resource server: %d", got)
	}

	// 4. Deactivate user1 in the admin (after a confirmation that names
	// what will happen): their token is refused at once.
	aud.check("admin-index", "/admin/")
	aud.check("admin-users", "/admin/users/")
	aud.check("admin-users-empty", "/admin/users/?q=nobody-at-all")
	aud.check("admin-users-out-of-range", "/admin/users/?page=999")
	aud.check("admin-user-add", "/admin/users/add/")
	run("add user with errors", chromedp.SendKeys("#id_email", "not-an-email"), chromedp.SendKeys("#id_password1", "abc"),
		chromedp.SendKeys("#id_password2", "abd"), chromedp.Click("#save"), chromedp.WaitVisible("#id_password2_error"))
	aud.check("admin-user-add-errors", "")
	run("admin deactivate",
		chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(`a[href="/admin/users/"]`), snap("admin"),
		chromedp.Navigate(base+"/admin/users/?q=user1"), chromedp.WaitVisible("#users"), snap("admin-users"),
		chromedp.Click(`#users tbody a`), chromedp.WaitVisible("#id_is_active"), snap("admin-user-change"))
	aud.check("admin-user-change", "")
	run("admin deactivate: ask", chromedp.Click("#id_is_active"), chromedp.Click("#save"), chromedp.WaitVisible("#confirm"))
	aud.check("admin-deactivate", "")
	if got := check(userTok.AccessToken); got != http.StatusOK {
		t.Fatalf("the token was refused before the deactivation was confirmed: %d", got)
	}
	var flash string
	run("admin deactivate: confirm", chromedp.Click("#confirm"), chromedp.WaitVisible(".flash"), capture(chromedp.Text(".flash"), &flash), snap("admin-user-saved"))
	if !strings.Contains(flash, "changed successfully") {
		t.Fatalf("flash after the change: %q", flash)
	}
	aud.check("admin-user-saved", "")
	var userPage string
	run("user page", capture(chromedp.Location(), &userPage))
	userPage = strings.TrimPrefix(userPage, base)
	aud.check("admin-user-history", userPage+"history/")
	aud.check("admin-user-revoke", userPage+"revoke/")
	// A bulk action, up to its confirmation.
	if r, err := http.PostForm(base+"/users/signup/", url.Values{"email": {"user2@email.com"}, "password": {"Str0ng-pass-w0rd"}, "password2": {"Str0ng-pass-w0rd"}}); err != nil || r.StatusCode != 201 {
		t.Fatalf("signup of user2: %v", err)
	} else {
		r.Body.Close()
	}
	run("bulk deactivate: ask", chromedp.Navigate(base+"/admin/users/?q=user2"), chromedp.WaitVisible("#go"),
		chromedp.Click(`#users tbody input[type=checkbox]`), chromedp.SetValue("#action", "deactivate"), chromedp.Click("#go"), chromedp.WaitVisible("#confirm"))
	aud.check("admin-bulk-deactivate", "")
	if got := check(userTok.AccessToken); got != http.StatusUnauthorized {
		t.Fatalf("deactivated user's token at the resource server: %d, want 401", got)
	}
	if got := check(tok.AccessToken); got != http.StatusOK {
		t.Fatalf("another user's token was refused: %d", got)
	}
	aud.check("admin-group-add", "/admin/groups/add/")
	run("groups and admin apps",
		chromedp.Navigate(base+"/admin/groups/add/"), chromedp.WaitVisible("#id_name"), chromedp.SendKeys("#id_name", "editors"),
		chromedp.Click("#save"), chromedp.WaitVisible("#groups"), snap("admin-groups"))
	aud.check("admin-groups", "")
	group := href("#groups tbody a")
	aud.check("admin-group-change", group)
	aud.check("admin-group-delete", group+"delete/")
	run("admin apps", chromedp.Navigate(base+"/admin/applications/?q=rs"), chromedp.WaitVisible("#apps"), snap("admin-applications"))
	aud.check("admin-applications", "/admin/applications/")
	run("admin apps: the seed's", chromedp.Navigate(base+"/admin/applications/?q=resource-server"), chromedp.WaitVisible("#apps"))
	adminApp := href("#apps tbody a")
	aud.check("admin-app-change", adminApp)
	aud.check("admin-app-delete", adminApp+"delete/")
	aud.check("admin-app-history", adminApp+"history/")
	aud.check("admin-app-revoke", adminApp+"revoke/")
	aud.check("admin-history", "/admin/history/")
	aud.check("admin-history-filtered", "/admin/history/?type=group&action=delete")
	aud.check("not-found", "/admin/users/999999/")
	run("authorized", chromedp.Navigate(base+"/o/authorized_tokens/"), chromedp.WaitVisible("#grants"), snap("authorized-tokens"))
	aud.check("authorized", "/o/authorized_tokens/")
	aud.check("authorized-revoke", href("#grants a"))
	aud.check("account-password", "/account/password/")
	run("password change with errors", chromedp.SendKeys("#id_old_password", "wrong"), chromedp.SendKeys("#id_new_password1", "abc"),
		chromedp.SendKeys("#id_new_password2", "abd"), chromedp.Click("#save"), chromedp.WaitVisible("#id_old_password_error"))
	aud.check("account-password-errors", "")
	aud.check("logout", "/logout/")

	// Bad input in the browser: a forged CSRF token is refused.
	var msg string
	run("forged csrf", chromedp.Navigate(base+"/admin/groups/add/"), chromedp.WaitVisible("#id_name"),
		chromedp.SetAttributeValue(`main input[name="csrfmiddlewaretoken"]`, "value", "forged"),
		chromedp.SendKeys("#id_name", "forged"), chromedp.Click("#save"), chromedp.WaitVisible("#message"), capture(chromedp.Text("#message"), &msg), snap("csrf-refused"))
	aud.check("csrf-refused", "")
	if !strings.Contains(msg, "CSRF") {
		t.Fatalf("forged CSRF: %q", msg)
	}
	// next cannot send the user away.
	var loc string
	run("log out", chromedp.Navigate(base+"/logout/"), chromedp.WaitVisible("#logout"), chromedp.Click("#logout"), chromedp.WaitVisible("#message"))
	aud.check("logged-out", "")

	// 5. Password reset by e-mail, as make run does it: without SMTP_URL
	// the e-mail (link and all) is written to the server's log.
	aud.check("password-reset", "/password_reset/")
	run("password reset: ask", chromedp.SendKeys("#id_email", "admin@email.com"), chromedp.Click("#reset"), chromedp.WaitVisible("#message"))
	aud.check("password-reset-sent", "")
	link := resetLinkFromLog(t, filepath.Join(out, "authserver.log"), base)
	aud.check("password-reset-confirm", strings.TrimPrefix(link, base))
	run("password reset: set", chromedp.SendKeys("#id_new_password1", "N3w-admin-passw0rd"), chromedp.SendKeys("#id_new_password2", "N3w-admin-passw0rd"),
		chromedp.Click("#save"), chromedp.WaitVisible("#message"))
	aud.check("password-reset-complete", "")
	aud.check("password-reset-used", strings.TrimPrefix(link, base))
	run("login with the new password", chromedp.Navigate(base+"/login/"), chromedp.WaitVisible("#id_username"),
		chromedp.SendKeys("#id_username", "admin@email.com"), chromedp.SendKeys("#id_password", "N3w-admin-passw0rd"),
		chromedp.Click("#login"), chromedp.WaitVisible("#register"))
	// Signed in, the login page sends the user on to next, which cannot
	// be another site.
	run("open redirect", chromedp.Navigate(base+"/login/?next=//evil.example/"),
		chromedp.WaitVisible("#register"), capture(chromedp.Location(), &loc))
	if !strings.HasPrefix(loc, base+"/") {
		t.Fatalf("next=//evil.example/ led to %s", loc)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(conf.AuthCodeURL("s") + "&redirect_uri=" + url.QueryEscape("https://evil.example/cb"))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("foreign redirect_uri: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// capture runs a and keeps its value in dst.
func capture[T any](a chromedp.Action[T], dst *T) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, tg)
		*dst = v
		return chromedp.Void{}, err
	}
}

// resourceChecker returns a func that presents a token to the resource
// server (GET /items/) and returns the status. When the resource server
// cannot be built, it falls back to introspection (200 for active, 401 for
// inactive) and says so.
func resourceChecker(t *testing.T, tmp, out, base, redisURL, prefix string) func(string) int {
	t.Helper()
	rs := filepath.Join(tmp, "resourceserver")
	if err := goBuild(t, "../../..", rs, "./resourceserver/cmd/resourceserver"); err != nil {
		t.Logf("COULD NOT build the resource server; checking tokens by introspection instead: %v", err)
		return func(token string) int {
			req, _ := http.NewRequest("POST", base+"/o/introspect/", strings.NewReader(url.Values{"token": {token}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("rs-id", "rs-secret")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v struct{ Active bool }
			_ = json.NewDecoder(resp.Body).Decode(&v)
			if v.Active {
				return http.StatusOK
			}
			return http.StatusUnauthorized
		}
	}
	dbURL := testenv.PostgresURLIfSet(t)
	if dbURL == "" {
		dbURL = testenv.SQLiteURL(t)
	}
	_, port := freeAddr(t)
	rsBase := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "PORT=" + fmt.Sprint(port), "DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL,
		"REDIS_PREFIX=" + prefix, "AUTH_SERVER_URL=" + base, "INTROSPECTION_URL=" + base + "/o/introspect/",
		"INTROSPECTION_CLIENT_ID=rs-id", "INTROSPECTION_CLIENT_SECRET=rs-secret"}
	startProcess(t, rs, env, filepath.Join(out, "resourceserver.log"), "serve")
	waitHTTP(t, rsBase+"/healthz")
	t.Logf("resource server running at %s", rsBase)
	return func(token string) int {
		req, _ := http.NewRequest("GET", rsBase+"/items/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body))
		return resp.StatusCode
	}
}

// fileSafe keeps letters, digits, '-' and '.', so that a page named after
// hostile input (the escaping check) still makes a plain file name.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, name)
}

var resetLinkRE = regexp.MustCompile(`(http://[^\s]+/password_reset/confirm/\?token=[A-Za-z0-9_%-]+)`)

// resetLinkFromLog waits for the console e-mail's reset link in the
// server's log (it is written after the answer, from a goroutine).
func resetLinkFromLog(t *testing.T, path, base string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if m := resetLinkRE.FindStringSubmatch(string(b)); m != nil {
			if !strings.HasPrefix(m[1], base) {
				t.Fatalf("reset link %q is not on %s", m[1], base)
			}
			// The console mail is the one place the link is logged: the
			// access log has only its path.
			if strings.Count(string(b), m[1][strings.Index(m[1], "token=")+6:]) != 1 {
				t.Fatal("the reset token appears in the log more than once")
			}
			return m[1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no reset e-mail in the server's log")
	return ""
}
