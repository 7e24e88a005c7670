package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/ginauth"
	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/middleware/subscriber"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// The README's snippets, as the tests below compile and run them. The
// complete program under "net/http" is built and run as it is; each other
// snippet is the body of one readme… function here, word for word (outside
// its first and last lines), which TestReadmeSnippetsAreTested checks.

func readmeGin(v *middleware.Verifier, createItem gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	items := r.Group("/items", ginauth.New(v))
	items.GET("/", func(c *gin.Context) {
		id, _ := ginauth.IdentityFrom(c) // or middleware.FromContext(c.Request.Context())
		c.String(http.StatusOK, "items of "+id.Username)
	})
	items.POST("/", ginauth.RequireScopes(v, "write"), createItem)
	return r
}

func readmeRevocations(ctx context.Context, v *middleware.Verifier, logger *slog.Logger) error {
	opt, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	go subscriber.Run(ctx, rdb, revocation.Channel(os.Getenv("REDIS_PREFIX")), v, logger)
	return nil
}

func readmeIntrospecttest(t *testing.T) (*introspecttest.Server, *middleware.Verifier) {
	auth := introspecttest.NewServer()
	t.Cleanup(auth.Close)
	auth.RequireClientCredentials("rs-id", "rs-secret")
	auth.Register("reader-token", wire.Introspection{Scope: "read", Exp: time.Now().Add(time.Hour).Unix(), Username: "user1@email.com"})
	auth.RegisterRaw("odd-token", `{"active": true, "aud": ["a", "b"], "exp": 1.9e9}`)
	v, _ := middleware.New(auth.URL, middleware.WithClientCredentials("rs-id", "rs-secret"))
	// ... auth.Calls(), auth.CallsFor(tok), auth.Revoke(tok),
	// auth.Fail(503, ""), auth.Fail(429, "5"), auth.SetDelay(time.Second), auth.LastRequest()
	return auth, v
}

// readmeBlocks returns the README's Go blocks by the section they are in.
func readmeBlocks(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	section := ""
	for _, m := range regexp.MustCompile("(?m)^## (.+)$|(?s)```go\n(.*?)```\n").FindAllStringSubmatch(string(b), -1) {
		if m[1] != "" {
			section = strings.TrimSpace(m[1])
			continue
		}
		if _, dup := blocks[section]; dup {
			t.Fatalf("README.md: two Go blocks under %q", section)
		}
		blocks[section] = m[2]
	}
	return blocks
}

// TestReadmeSnippetsAreTested: every Go block of README.md is either the
// complete program TestReadmeProgram runs, or the body of one of the
// readme… functions above, line for line.
func TestReadmeSnippetsAreTested(t *testing.T) {
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var here []string
	for _, l := range strings.Split(string(src), "\n") {
		here = append(here, strings.TrimSpace(l))
	}
	blocks := readmeBlocks(t)
	for _, want := range []string{"net/http", "Gin", "Revocations", "Testing your service: introspecttest"} {
		if blocks[want] == "" {
			t.Errorf("README.md has no Go block under %q", want)
		}
	}
	for section, block := range blocks {
		if strings.HasPrefix(block, "package main\n") {
			continue
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
			lines = append(lines, strings.TrimSpace(l))
		}
		if !containsRun(here, lines) {
			t.Errorf("README.md's block under %q is not a readme… function's body here, word for word:\n%s", section, block)
		}
	}
}

func containsRun(hay, needle []string) bool {
	for i := 0; i+len(needle) <= len(hay); i++ {
		if slicesEqual(hay[i:i+len(needle)], needle) {
			return true
		}
	}
	return false
}

func slicesEqual(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestReadmeGin(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	auth, v := readmeIntrospecttest(t)
	r := readmeGin(v, func(c *gin.Context) { c.Status(http.StatusCreated) })
	for _, tc := range []struct {
		method, token string
		want          int
		body          string
	}{
		{http.MethodGet, "reader-token", http.StatusOK, "items of user1@email.com"},
		{http.MethodGet, "", http.StatusUnauthorized, ""},
		{http.MethodPost, "reader-token", http.StatusForbidden, ""},
	} {
		req := httptest.NewRequest(tc.method, "/items/", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tc.want || (tc.body != "" && w.Body.String() != tc.body) {
			t.Errorf("%s /items/ with %q: %d %q, want %d %q", tc.method, tc.token, w.Code, w.Body.String(), tc.want, tc.body)
		}
	}
	if auth.Calls() != 1 {
		t.Errorf("introspection calls %d, want 1 (the second use of a token is a cache hit)", auth.Calls())
	}
}

func TestReadmeIntrospecttest(t *testing.T) {
	auth, v := readmeIntrospecttest(t)
	id, err := v.Verify(context.Background(), "reader-token")
	if err != nil || id.Username != "user1@email.com" {
		t.Fatalf("reader-token: %+v, %v", id, err)
	}
	if _, err := v.Verify(context.Background(), "odd-token"); err != nil {
		t.Fatalf("odd-token: %v", err)
	}
	if got := auth.LastRequest().Header.Get("Authorization"); !strings.HasPrefix(got, "Basic ") {
		t.Fatalf("introspection authenticated with %q, want Basic", got)
	}
}

func TestReadmeRevocations(t *testing.T) {
	auth, v := readmeIntrospecttest(t)
	mr := miniredis.RunT(t)
	t.Setenv("REDIS_URL", "redis://"+mr.Addr())
	t.Setenv("REDIS_PREFIX", "readme:")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := readmeRevocations(ctx, v, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	channel := revocation.Channel("readme:")
	pub := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = pub.Close() })
	servicetest.Eventually(t, 5*time.Second, "the subscriber listens on "+channel, func() bool {
		n, err := pub.PubSubNumSub(ctx, channel).Result()
		return err == nil && n[channel] > 0
	})
	if _, err := v.Verify(ctx, "reader-token"); err != nil {
		t.Fatal(err)
	}
	auth.Revoke("reader-token")
	ev, err := revocation.Encode(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashHex("reader-token")}})
	if err != nil {
		t.Fatal(err)
	}
	servicetest.Eventually(t, 5*time.Second, "the revoked token is refused", func() bool {
		// Publish again until it lands: the subscriber purges its cache once
		// right after subscribing, and an event before that is not needed.
		pub.Publish(ctx, channel, ev)
		_, err := v.Verify(ctx, "reader-token")
		return err != nil
	})
}

// TestReadmeProgram builds the README's complete net/http program inside
// this module (as a file overlaid on the tree, which stays untouched) and
// runs it against a fake auth server over real HTTP.
func TestReadmeProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: builds the README's program")
	}
	prog := readmeBlocks(t)["net/http"]
	if !strings.HasPrefix(prog, "package main\n") {
		t.Fatal("README.md's net/http block is not a complete program")
	}
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	mainGo := filepath.Join(dir, "main.go")
	if err := os.WriteFile(mainGo, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(wd, "internal", "readmeprogram", "main.go"): mainGo}})
	if err := os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "program")
	if out, err := exec.Command("go", "build", "-overlay", filepath.Join(dir, "overlay.json"), "-o", bin, "./internal/readmeprogram").CombinedOutput(); err != nil {
		t.Fatalf("build the README's program: %v\n%s", err, out)
	}

	auth, _ := readmeIntrospecttest(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT=" + fmt.Sprint(port), "INTROSPECTION_URL=" + auth.URL,
		"INTROSPECTION_CLIENT_ID=rs-id", "INTROSPECTION_CLIENT_SECRET=rs-secret"}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("program output:\n%s", out.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d/items/", port)
	do := func(method, token string) (int, string) {
		req, _ := http.NewRequest(method, base, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	servicetest.Eventually(t, 20*time.Second, "the README's program answers", func() bool {
		code, _ := do(http.MethodGet, "")
		return code == http.StatusUnauthorized
	})
	if code, body := do(http.MethodGet, "reader-token"); code != http.StatusOK || body != "items of user1@email.com\n" {
		t.Errorf("GET with a read token: %d %q", code, body)
	}
	if code, _ := do(http.MethodPost, "reader-token"); code != http.StatusForbidden {
		t.Errorf("POST with a read-only token: %d, want 403", code)
	}
}

// lockedBuffer is what the program's two output streams share.
type lockedBuffer = servicetest.Buffer
