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
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
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
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", out, pkg)
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
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not come up", u)
}

// TestBrowserAcceptance drives headless Chromium through the issue's
// acceptance steps against the real binaries.
func TestBrowserAcceptance(t *testing.T) {
	chrome := findChromium()
	if chrome == "" {
		if testenv.InCI() {
			t.Fatal("chromium not found and CI=true: install the Debian packages chromium and chromium-driver")
		}
		t.Skip("SKIPPED: chromium not found (apt-get install -y chromium chromium-driver); the browser acceptance test did not run")
	}
	if testing.Short() {
		t.Skip("SKIPPED: -short")
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
		chromedp.UserDataDir(filepath.Join(tmp, "chrome")), chromedp.WindowSize(1200, 900))
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(alloc)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
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

	// 1. Log in as the superuser.
	run("login",
		chromedp.Navigate(base+"/login/?next=/o/applications/"), chromedp.WaitVisible("#id_username"), snap("login"),
		chromedp.SendKeys("#id_username", "admin@email.com"), chromedp.SendKeys("#id_password", "testpass123"),
		chromedp.Click("#login"), chromedp.WaitVisible("#register"), snap("applications"))

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
		actions = append(actions, chromedp.SetValue("#id_client_type", "confidential"), chromedp.SetValue("#id_authorization_grant_type", grant))
		if redirects != "" { // the textarea starts empty: "leave this empty"
			actions = append(actions, chromedp.SendKeys("#id_redirect_uris", redirects))
		}
		// Algorithm: "No OIDC support" is the only choice and is selected.
		actions = append(actions, snap("register-"+name+"-filled"),
			chromedp.Click("#save"), chromedp.WaitVisible("#client_secret"), snap("registered-"+name),
			capture(chromedp.Text("#client_id"), &gotID), capture(chromedp.Text("#client_secret"), &gotSecret))
		for i, a := range actions {
			run(fmt.Sprintf("register %s, step %d", name, i), a)
		}
		return strings.TrimSpace(gotID), strings.TrimSpace(gotSecret)
	}
	rsID, rsSecret := register("resource-server", "rs-id", "rs-secret", "password", "")
	if rsID != "rs-id" || rsSecret != "rs-secret" {
		t.Fatalf("seed application registered as %q", rsID)
	}
	webID, webSecret := register("web-client", "", "", "authorization-code", cbURL)
	if webID == "" || !strings.HasPrefix(webSecret, "pcs_") {
		t.Fatal("generated client id/secret missing")
	}
	var escaped string
	register(`<img src=x onerror=alert(1)>`, "xss-app", "", "password", "")
	run("escaped name", chromedp.Navigate(base+"/o/applications/"), chromedp.WaitVisible("#apps"), capture(chromedp.Text("#apps"), &escaped), snap("applications-escaped"))
	if !strings.Contains(escaped, "<img src=x onerror=alert(1)>") {
		t.Fatalf("an HTML application name was not shown as text: %q", escaped)
	}

	// 3. Authorization code + PKCE with consent, exchanged by x/oauth2.
	conf := &oauth2.Config{ClientID: webID, ClientSecret: webSecret, RedirectURL: cbURL, Scopes: []string{"read", "write"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/o/authorize/", TokenURL: base + "/o/token/", AuthStyle: oauth2.AuthStyleInHeader}}
	verifier := oauth2.GenerateVerifier()
	state := "st-" + prefix[1:9]
	var scopes string
	run("consent", chromedp.Navigate(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))), chromedp.WaitVisible("#allow"),
		capture(chromedp.Text("#scopes"), &scopes), snap("consent"), chromedp.Click("#allow"), chromedp.WaitVisible("#done"), snap("callback"))
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

	// 4. Deactivate user1 in the admin: their token is refused at once.
	run("admin deactivate",
		chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(`a[href="/admin/users/"]`), snap("admin"),
		chromedp.Navigate(base+"/admin/users/?q=user1"), chromedp.WaitVisible("#users"), snap("admin-users"),
		chromedp.Click(`#users a`), chromedp.WaitVisible("#id_is_active"), snap("admin-user-change"),
		chromedp.Click("#id_is_active"), chromedp.Click("#save"), chromedp.WaitVisible("#saved"), snap("admin-user-saved"))
	if got := check(userTok.AccessToken); got != http.StatusUnauthorized {
		t.Fatalf("deactivated user's token at the resource server: %d, want 401", got)
	}
	if got := check(tok.AccessToken); got != http.StatusOK {
		t.Fatalf("another user's token was refused: %d", got)
	}
	run("groups and admin apps",
		chromedp.Navigate(base+"/admin/groups/add/"), chromedp.WaitVisible("#id_name"), chromedp.SendKeys("#id_name", "editors"),
		chromedp.Click("#save"), chromedp.WaitVisible("#groups"), snap("admin-groups"),
		chromedp.Navigate(base+"/admin/applications/?q=rs"), chromedp.WaitVisible("#apps"), snap("admin-applications"),
		chromedp.Navigate(base+"/o/authorized_tokens/"), chromedp.WaitVisible("#grants"), snap("authorized-tokens"))

	// Bad input in the browser: a forged CSRF token is refused.
	var msg string
	run("forged csrf", chromedp.Navigate(base+"/admin/groups/add/"), chromedp.WaitVisible("#id_name"),
		chromedp.SetAttributeValue(`main input[name="csrfmiddlewaretoken"]`, "value", "forged"),
		chromedp.SendKeys("#id_name", "forged"), chromedp.Click("#save"), chromedp.WaitVisible("#message"), capture(chromedp.Text("#message"), &msg), snap("csrf-refused"))
	if !strings.Contains(msg, "CSRF") {
		t.Fatalf("forged CSRF: %q", msg)
	}
	// next cannot send the user away.
	var loc string
	run("open redirect", chromedp.Navigate(base+"/logout/"), chromedp.Navigate(base+"/login/?next=//evil.example/"),
		chromedp.WaitVisible("#id_username"), capture(chromedp.Location(), &loc))
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(conf.AuthCodeURL("s") + "&redirect_uri=" + url.QueryEscape("https://evil.example/cb"))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("foreign redirect_uri: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	_ = loc
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
