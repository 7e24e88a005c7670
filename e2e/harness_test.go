package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/e2e/internal/rediskeys"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// fixedPortKey in an env map tells start to keep env["PORT"].
const fixedPortKey = "\x00fixed-port"

// binDir holds the binaries built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "portcullis-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..")
	for _, name := range []string{"authserver", "resourceserver"} {
		// Built inside its own module, so that with GOWORK=off (make
		// test-modules) it resolves its requirements as a stranger would.
		src := "./cmd/" + name
		if _, err := os.Stat(filepath.Join(root, name, src)); err != nil {
			continue
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), src)
		cmd.Dir = filepath.Join(root, name)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build %s: %v\n", name, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort asks the kernel for a free loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// backend is where one test's services keep their data.
type backend struct {
	DatabaseURL string // for the auth server
	RSDatabase  string // for the resource server
	RedisURL    string // "" means the auth server's embedded Redis
	RedisPrefix string
}

// realBackend uses TEST_DATABASE_URL (two fresh schemas) and TEST_REDIS_URL
// (a fresh prefix). It skips loudly, or fails under CI, without them.
func realBackend(t *testing.T) backend {
	t.Helper()
	db := servicetest.Require(t, "TEST_DATABASE_URL")
	rd := servicetest.Require(t, "TEST_REDIS_URL")
	prefix := "e2e" + randHex(4) + ":"
	// Registered before any server starts, so it runs after they stop.
	t.Cleanup(func() { deleteRedisPrefix(t, rd, prefix) })
	return backend{
		DatabaseURL: freshSchema(t, db),
		RSDatabase:  freshSchema(t, db),
		RedisURL:    rd,
		RedisPrefix: prefix,
	}
}

// deleteRedisPrefix removes the keys a test's servers left under prefix in
// the shared Redis (tokens live for days).
func deleteRedisPrefix(t *testing.T, url, prefix string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Errorf("TEST_REDIS_URL: %v", err)
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rediskeys.Delete(ctx, rdb, prefix); err != nil {
		t.Errorf("delete the keys under %s: %v", prefix, err)
	}
}

// embeddedBackend uses SQLite files and the auth server's embedded Redis.
func embeddedBackend(t *testing.T) backend {
	dir := t.TempDir()
	return backend{
		DatabaseURL: "sqlite:" + filepath.Join(dir, "auth.db"),
		RSDatabase:  "sqlite:" + filepath.Join(dir, "rs.db"),
	}
}

func freshSchema(t testing.TB, base string) string {
	t.Helper()
	schema := "e2e_" + randHex(4)
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("TEST_DATABASE_URL: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", base)
		if err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// syncBuffer collects a process's output safely.
type syncBuffer = servicetest.Buffer

// proc is one running binary.
type proc struct {
	name string
	out  *syncBuffer // over restarts
	URL  string
	env  []string
	run  *servicetest.Process // the current run
}

// binary returns the path of a built binary, or fails.
func binary(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(binDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s was not built: %v", name, err)
	}
	return p
}

// start runs `name serve` with env and waits for /healthz. It is stopped
// with SIGTERM (by PID) when the test ends.
func start(t *testing.T, name string, env map[string]string) *proc {
	t.Helper()
	port := freePort(t)
	if env[fixedPortKey] != "" {
		port, _ = strconv.Atoi(env["PORT"])
		delete(env, fixedPortKey)
	}
	env["PORT"] = strconv.Itoa(port)
	if env["LOG_FORMAT"] == "" {
		env["LOG_FORMAT"] = "json"
	}
	p := &proc{name: name, out: &syncBuffer{}, URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	for k, v := range env {
		p.env = append(p.env, k+"="+v)
	}
	p.launch(t)
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.out.String())
		}
	})
	return p
}

func (p *proc) launch(t *testing.T) {
	t.Helper()
	cmd := exec.Command(binary(t, p.name), "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, p.env...)
	cmd.Dir = t.TempDir()
	p.run = servicetest.Start(t, p.name, cmd, p.out, 30*time.Second)
	healthy := servicetest.Until(20*time.Second, func() bool {
		if p.run.Exited() {
			t.Fatalf("%s exited early:\n%s", p.name, p.out.String())
		}
		resp, err := http.Get(p.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if !healthy {
		t.Fatalf("%s did not become healthy:\n%s", p.name, p.out.String())
	}
}

// stop sends SIGTERM to the process and waits, killing it after 30 s (which
// fails the test).
func (p *proc) stop(t *testing.T) {
	if p.run != nil {
		if err := p.run.Stop(); err != nil {
			t.Error(err)
		}
	}
}

// restart stops and starts the process again on the same port.
func (p *proc) restart(t *testing.T) {
	p.stop(t)
	p.launch(t)
}

// authEnv is the auth server's environment for a backend.
func authEnv(b backend, extra map[string]string) map[string]string {
	env := map[string]string{
		"DATABASE_URL":      b.DatabaseURL,
		"REDIS_URL":         b.RedisURL,
		"REDIS_PREFIX":      b.RedisPrefix,
		"LOG_LEVEL":         "info",
		"ARGON2_MEMORY_KIB": "8192",
		"ARGON2_TIME":       "1",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// startAuth starts an auth server, registers the tutorial's client
// (rs-id/rs-secret, password grant) and a client_credentials client
// (cc-id/cc-secret).
func startAuth(t *testing.T, b backend, extra map[string]string) *proc {
	t.Helper()
	if b.RedisURL == "" {
		extra = withDefault(extra, "EMBEDDED_REDIS_ADDR", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	}
	env := authEnv(b, extra)
	cli(t, env, "createclient", "--name", "resource-server", "--client-id", "rs-id", "--client-secret", "rs-secret",
		"--client-type", "confidential", "--grant-types", "password,refresh_token")
	cli(t, env, "createclient", "--name", "cc", "--client-id", "cc-id", "--client-secret", "cc-secret",
		"--client-type", "confidential", "--grant-types", "client_credentials")
	return start(t, "authserver", env)
}

func withDefault(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for kk, vv := range m {
		out[kk] = vv
	}
	return out
}

// cli runs an authserver subcommand to completion and returns its stdout.
func cli(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t, "authserver"), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("authserver %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// client is a small raw-HTTP helper.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	return &client{t: t, base: base, http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// do sends a request; body may be url.Values (form), a string (JSON) or nil.
// A transport error fails the test, so call it from the test goroutine
// only; other goroutines use try.
func (c *client) do(method, path string, body any, hdr ...string) response {
	c.t.Helper()
	r, err := c.try(method, path, body, hdr...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is do that returns transport errors instead of failing the test.
func (c *client) try(method, path string, body any, hdr ...string) (response, error) {
	return c.tryCtx(context.Background(), method, path, body, hdr...)
}

// tryCtx is try with a parent context, e.g. one carrying an httptrace.
func (c *client) tryCtx(parent context.Context, method, path string, body any, hdr ...string) (response, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	}
	ctx, cancel := context.WithTimeout(parent, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

func basicAuth(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

func expectStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, want, r.Body)
	}
}
