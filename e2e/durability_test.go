package e2e

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// issueTokens signs up a user and issues n client_credentials tokens and
// one password grant (access and refresh), and revokes one more access
// token. It returns the live access tokens, the refresh token and the
// revoked token.
func issueTokens(t *testing.T, c *client, n int) (live []string, refresh, revoked string) {
	t.Helper()
	cc, rs := basicAuth("cc-id", "cc-secret"), basicAuth("rs-id", "rs-secret")
	for range n {
		r := c.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, "Authorization", cc)
		expectStatus(t, r, 200)
		live = append(live, r.JSON(t)["access_token"].(string))
	}
	signup(t, c, "durable@example.com", "correct horse battery")
	r := c.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"durable@example.com"}, "password": {"correct horse battery"}}, "Authorization", rs)
	expectStatus(t, r, 200)
	live = append(live, r.JSON(t)["access_token"].(string))
	refresh = r.JSON(t)["refresh_token"].(string)
	r = c.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, "Authorization", cc)
	expectStatus(t, r, 200)
	revoked = r.JSON(t)["access_token"].(string)
	expectStatus(t, c.do("POST", "/o/revoke_token/", url.Values{"token": {revoked}}, "Authorization", cc), 200)
	return live, refresh, revoked
}

// active introspects token.
func active(t *testing.T, c *client, token string) bool {
	t.Helper()
	r := c.do("POST", "/o/introspect/", url.Values{"token": {token}}, "Authorization", basicAuth("rs-id", "rs-secret"))
	expectStatus(t, r, 200)
	return r.JSON(t)["active"] == true
}

// waitReady polls /readyz until it answers 200, for up to 20 s.
func waitReady(t *testing.T, c *client) response {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := c.try("GET", "/readyz", nil)
		if err == nil && r.Status == 200 {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz did not come back: %d %s %v", r.Status, r.Body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRedisKillWithAOF issues tokens through the real auth server, kills
// its redis-server with SIGKILL and starts it again on the same directory.
// With AOF (appendfsync always: a write is on disk before Redis answers it)
// every token still works and the revoked one stays revoked; without
// persistence every token is lost, which shows the test can tell.
func TestRedisKillWithAOF(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		survive bool
	}{
		{"appendonly yes, appendfsync always", []string{"--appendonly", "yes", "--appendfsync", "always"}, true},
		{"no persistence", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rsrv := startRedis(t, tc.args...)
			b := backend{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "a.db"), RedisURL: "redis://" + rsrv.addr() + "/0", RedisPrefix: "dur:"}
			// No in-process token cache: every introspection reads Redis.
			auth := startAuth(t, b, map[string]string{"TOKEN_CACHE_TTL": "0"})
			c := newClient(t, auth.URL)
			live, refresh, revoked := issueTokens(t, c, 20)

			rsrv.stop() // kill -9
			bin, _ := exec.LookPath("redis-server")
			rsrv.launch(t, bin)
			waitReady(t, c)

			for i, tok := range live {
				if active(t, c, tok) != tc.survive {
					t.Fatalf("token %d of %d: active = %v after the kill, want %v", i, len(live), !tc.survive, tc.survive)
				}
			}
			if active(t, c, revoked) {
				t.Fatal("a revoked token came back to life")
			}
			r := c.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, "Authorization", basicAuth("rs-id", "rs-secret"))
			if (r.Status == 200) != tc.survive {
				t.Fatalf("refresh after the kill: %d %s", r.Status, r.Body)
			}
		})
	}
}

// runAuthToExit runs `authserver serve`, expecting it to exit by itself
// within 30 s, and returns its exit code and output.
func runAuthToExit(t *testing.T, env map[string]string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, "authserver"), "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PORT=0"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("authserver serve did not exit within 30 s:\n%s", out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// TestEvictingRedisIsRefused: on maxmemory-policy allkeys-lru the auth
// server refuses to start, naming the setting and the override; with the
// override it starts and /readyz shows the warning, as it shows a missing
// persistence.
func TestEvictingRedisIsRefused(t *testing.T) {
	rsrv := startRedis(t, "--maxmemory-policy", "allkeys-lru")
	b := backend{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "a.db"), RedisURL: "redis://" + rsrv.addr() + "/0", RedisPrefix: "ev:"}
	env := authEnv(b, nil)
	code, out := runAuthToExit(t, env)
	for _, want := range []string{"maxmemory-policy allkeys-lru", "noeviction", "REDIS_ALLOW_EVICTION=true"} {
		if code == 0 || !strings.Contains(out, want) {
			t.Fatalf("exit %d, output does not name %q:\n%s", code, want, out)
		}
	}

	auth := startAuth(t, b, map[string]string{"REDIS_ALLOW_EVICTION": "true"})
	r := waitReady(t, newClient(t, auth.URL))
	body := string(r.Body)
	for _, want := range []string{`"redis":"ok"`, "maxmemory-policy allkeys-lru evicts keys, allowed by REDIS_ALLOW_EVICTION", "no persistence"} {
		if !strings.Contains(body, want) {
			t.Fatalf("readyz lacks %q: %s", want, body)
		}
	}
	if n := strings.Count(auth.out.String(), "no persistence"); n != 1 {
		t.Fatalf("the persistence warning was logged %d times, want once:\n%s", n, auth.out)
	}
}

// TestEmbeddedRedisKeepsTokensAcrossRestart: under make run every token
// used to die with the auth server while the users survived in SQLite. The
// embedded Redis now writes its snapshot on shutdown and restores it.
func TestEmbeddedRedisKeepsTokensAcrossRestart(t *testing.T) {
	b := embeddedBackend(t)
	snapshot := filepath.Join(t.TempDir(), "data", "embedded-redis.snapshot")
	auth := startAuth(t, b, map[string]string{"EMBEDDED_REDIS_SNAPSHOT": snapshot, "TOKEN_CACHE_TTL": "0"})
	c := newClient(t, auth.URL)
	live, refresh, revoked := issueTokens(t, c, 5)

	auth.restart(t) // SIGTERM, then the same environment
	for i, tok := range live {
		if !active(t, c, tok) {
			t.Fatalf("token %d of %d was lost across the restart", i, len(live))
		}
	}
	if active(t, c, revoked) {
		t.Fatal("a revoked token came back to life")
	}
	r := c.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, "Authorization", basicAuth("rs-id", "rs-secret"))
	expectStatus(t, r, 200)
	if !strings.Contains(auth.out.String(), "embedded redis: snapshot restored") {
		t.Fatalf("no restore logged:\n%s", auth.out)
	}
}

// TestCorruptEmbeddedSnapshotStopsTheStart: the auth server does not start
// on a snapshot it cannot read (starting empty would overwrite it at the
// next snapshot); the error names the file and what to do.
func TestCorruptEmbeddedSnapshotStopsTheStart(t *testing.T) {
	b := embeddedBackend(t)
	snapshot := filepath.Join(t.TempDir(), "embedded-redis.snapshot")
	if err := os.WriteFile(snapshot, []byte("portcullis-embedded-redis\n\x00garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := authEnv(b, map[string]string{"EMBEDDED_REDIS_SNAPSHOT": snapshot, "EMBEDDED_REDIS_ADDR": "127.0.0.1:" + strconv.Itoa(freePort(t))})
	code, out := runAuthToExit(t, env)
	if code == 0 || !strings.Contains(out, "corrupt snapshot: "+snapshot) || !strings.Contains(out, "move it away") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// TestRedisRefusingConfig plays a managed Redis that forbids CONFIG (it is
// renamed away): the auth server starts, reads the policy from INFO, and
// says in /readyz that it could not check persistence.
func TestRedisRefusingConfig(t *testing.T) {
	rsrv := startRedis(t, "--rename-command", "CONFIG", "")
	b := backend{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "a.db"), RedisURL: "redis://" + rsrv.addr() + "/0", RedisPrefix: "cfg:"}
	auth := startAuth(t, b, nil)
	r := waitReady(t, newClient(t, auth.URL))
	if !strings.Contains(string(r.Body), "persistence could not be checked") || strings.Contains(string(r.Body), "maxmemory-policy") {
		t.Fatalf("readyz: %s", r.Body)
	}
	if !strings.Contains(auth.out.String(), `"maxmemory_policy":"noeviction"`) {
		t.Fatalf("the policy was not read from INFO:\n%s", auth.out)
	}
}
