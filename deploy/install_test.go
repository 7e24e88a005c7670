package deploy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/deploy/internal/modproxy"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

const modPrefix = modproxy.PathPrefix

// TestInstallFromProxy installs Portcullis as a stranger would, with no git
// tags: every module is published at v0.1.0 from the working tree into a
// file-based GOPROXY, and in a new module outside the tree, with
// GOWORK=off, it runs `go get …/middleware@v0.1.0`, builds the middleware
// README's net/http example, `go install`s both servers at v0.1.0, and then
// runs the example against the installed auth server over real HTTP.
// `make install-check` runs this test alone.
func TestInstallFromProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: installs the modules from a file proxy and builds both servers")
	}
	root := repoRoot(t)
	goBin := "go" // go test puts its own go first on PATH
	proxyDir := t.TempDir()
	if _, err := modproxy.Build(root, proxyDir); err != nil {
		t.Fatal(err)
	}
	cache, err := modproxy.CacheDir(root)
	if err != nil {
		t.Fatal(err)
	}
	// A cache of its own: make test-modules runs this test while its own go
	// commands read the repository's cache.
	cache += "-install"
	if err := modproxy.Forget(cache); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	gobin := filepath.Join(work, "bin")
	env := append(os.Environ(), modproxy.Env(proxyDir, cache)...)
	// -trimpath keeps the build cache's entries independent of the private
	// module cache's location, so that a second run compiles nothing.
	env = append(env, "GOBIN="+gobin, "GOFLAGS=-mod=mod -trimpath")
	goCmd := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	app := filepath.Join(work, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	goCmd(app, "mod", "init", "example.com/stranger")
	goCmd(app, "get", modPrefix+"/middleware@"+modproxy.Version)
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(readmeProgram(t, root)), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(app, "build", "-o", filepath.Join(gobin, "app"), ".")
	gomod, err := os.ReadFile(filepath.Join(app, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{modPrefix + "/middleware " + modproxy.Version, modPrefix + "/shared " + modproxy.Version} {
		if !strings.Contains(string(gomod), want) {
			t.Fatalf("the stranger's go.mod lacks %q:\n%s", want, gomod)
		}
	}
	if strings.Contains(string(gomod), "gin-gonic") || strings.Contains(string(gomod), "go-redis") {
		t.Errorf("a net/http user's go.mod names Gin or go-redis:\n%s", gomod)
	}
	goCmd(work, "install", modPrefix+"/authserver/cmd/authserver@"+modproxy.Version)
	goCmd(work, "install", modPrefix+"/resourceserver/cmd/resourceserver@"+modproxy.Version)

	for _, name := range []string{"authserver", "resourceserver"} {
		out, err := exec.Command(filepath.Join(gobin, name), "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), modproxy.Version) {
			t.Errorf("%s version: %v: %q does not name %s", name, err, out, modproxy.Version)
		}
	}

	// The installed auth server, on SQLite and its embedded Redis.
	authPort, redisPort := itoa(freePort(t)), itoa(freePort(t))
	authEnv := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"PORT=" + authPort, "DATABASE_URL=sqlite:" + filepath.Join(work, "auth.db"),
		"EMBEDDED_REDIS_ADDR=127.0.0.1:" + redisPort, "ARGON2_MEMORY_KIB=8192", "LOG_FORMAT=json",
		"EMBEDDED_REDIS_SNAPSHOT=" + filepath.Join(work, "redis.snapshot"),
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(gobin, "authserver"), args...)
		cmd.Env, cmd.Dir = authEnv, work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("authserver %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("migrate")
	run("createclient", "--name", "resource-server", "--client-id", "rs-id", "--client-secret", "rs-secret",
		"--client-type", "confidential", "--grant-types", "password,refresh_token")
	authURL := "http://127.0.0.1:" + authPort
	startProcess(t, filepath.Join(gobin, "authserver"), []string{"serve"}, authEnv, authURL+"/healthz")

	appPort := itoa(freePort(t))
	appURL := "http://127.0.0.1:" + appPort
	startProcess(t, filepath.Join(gobin, "app"), nil, []string{
		"PORT=" + appPort, "INTROSPECTION_URL=" + authURL + "/o/introspect/",
		"INTROSPECTION_CLIENT_ID=rs-id", "INTROSPECTION_CLIENT_SECRET=rs-secret",
	}, appURL+"/items/")

	resp, err := http.PostForm(authURL+"/users/signup/", url.Values{
		"email": {"stranger@example.com"}, "password": {"testpass123"}, "password2": {"testpass123"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, authURL+"/o/token/", strings.NewReader(url.Values{
		"grant_type": {"password"}, "username": {"stranger@example.com"}, "password": {"testpass123"}, "scope": {"read"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rs-id", "rs-secret")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("password grant: %d, %v", resp.StatusCode, err)
	}

	for _, tc := range []struct {
		name, method, token string
		want                int
		body                string
	}{
		{"no token", http.MethodGet, "", http.StatusUnauthorized, ""},
		{"a made-up token", http.MethodGet, "pcat_made-up", http.StatusUnauthorized, ""},
		{"the real token", http.MethodGet, tok.AccessToken, http.StatusOK, "items of stranger@example.com\n"},
		{"write without the write scope", http.MethodPost, tok.AccessToken, http.StatusForbidden, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, appURL+"/items/", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || (tc.body != "" && string(body) != tc.body) {
				t.Fatalf("%s /items/: %d %q, want %d %q", tc.method, resp.StatusCode, body, tc.want, tc.body)
			}
		})
	}
}

// readmeProgram returns the complete program in middleware/README.md's
// "net/http" section, as written.
func readmeProgram(t *testing.T, root string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(root, "middleware", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\n## net/http\n.*?```go\n(.*?)```\n").FindSubmatch(readme)
	if m == nil || !bytes.HasPrefix(m[1], []byte("package main\n")) {
		t.Fatal("middleware/README.md has no complete program (package main) under ## net/http")
	}
	return string(m[1])
}

// startProcess runs bin with args and env until the test ends (then
// SIGTERM, by PID), and waits until ready answers at all.
func startProcess(t *testing.T, bin string, args, env []string, ready string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	p := servicetest.Start(t, filepath.Base(bin), cmd, nil, 20*time.Second)
	servicetest.Eventually(t, 30*time.Second, filepath.Base(bin)+" answers "+ready, func() bool {
		if p.Exited() {
			t.Fatalf("%s exited:\n%s", filepath.Base(bin), p.Out.String())
		}
		resp, err := http.Get(ready)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// lockedBuffer is what a process's two output streams share.
type lockedBuffer = servicetest.Buffer
