package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer = servicetest.Buffer

// startServe runs `serve` in-process on a free port and stops it (checking
// it shut down cleanly) when the test ends.
func startServe(t *testing.T, env map[string]string) (base string, logs *syncBuffer) {
	t.Helper()
	env["PORT"] = "0"
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logs = &syncBuffer{}
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), logs, ready) }()
	select {
	case addr := <-ready:
		base = "http://" + strings.Replace(addr, "[::]", "127.0.0.1", 1)
	case err := <-done:
		cancel()
		t.Fatalf("serve exited early: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start\n%s", logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return base, logs
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestWrongIntrospectionSecret: the binary's /readyz fails, and its log
// says why, while the auth server rejects its credentials.
func TestWrongIntrospectionSecret(t *testing.T) {
	t.Parallel()
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	fake.RequireClientCredentials("rs-id", "rs-secret")
	base, logs := startServe(t, map[string]string{
		"DATABASE_URL":                testenv.SQLiteURL(t),
		"INTROSPECTION_URL":           fake.URL,
		"INTROSPECTION_CLIENT_SECRET": "wrong-secret",
	})
	code, body := get(t, base+"/readyz", "")
	if code != 503 || !strings.Contains(body, `"introspection":"unavailable"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"introspection endpoint rejects this verifier's credentials`) {
		t.Fatalf("no ERROR about the credentials:\n%s", logs)
	}
	if strings.Contains(logs.String(), "wrong-secret") {
		t.Fatalf("the secret reached the log")
	}
}

func TestServeLifecycle(t *testing.T) {
	t.Parallel()
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	fake.RequireClientCredentials("rs-id", "rs-secret")
	fake.Register("tok", wire.Introspection{Scope: "read", Exp: time.Now().Add(time.Hour).Unix(), ClientID: "rs-id", Username: "a@b.c", Sub: "1"})
	base, logs := startServe(t, map[string]string{
		"DATABASE_URL":      testenv.SQLiteURL(t),
		"INTROSPECTION_URL": fake.URL,
	})
	if code, body := get(t, base+"/healthz", ""); code != 200 {
		t.Fatalf("healthz %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz", ""); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	if code, body := get(t, base+"/items/", "tok"); code != 200 || body != "[]" {
		t.Fatalf("items %d %s", code, body)
	}
	if !strings.Contains(logs.String(), `"msg":"listening"`) {
		t.Fatalf("no listening line in logs:\n%s", logs)
	}
	if strings.Contains(logs.String(), "rs-secret") || strings.Contains(logs.String(), `"tok"`) {
		t.Fatalf("a secret or token was logged:\n%s", logs)
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"migrate", []string{"migrate"}, map[string]string{}, ""},
		{"unknown command", []string{"frobnicate"}, map[string]string{}, "unknown command"},
		{"too many args", []string{"serve", "x"}, map[string]string{}, "usage"},
		{"bad config", []string{"migrate"}, map[string]string{"PORT": "x"}, "PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, ok := tt.env["DATABASE_URL"]; !ok {
				tt.env["DATABASE_URL"] = testenv.SQLiteURL(t)
			}
			err := run(context.Background(), tt.args, envOf(tt.env), io.Discard, nil)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMigratePostgres(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	for i := range 2 { // the second run finds nothing to do
		if err := run(context.Background(), []string{"migrate"}, envOf(map[string]string{"DATABASE_URL": url}), io.Discard, nil); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
}

// TestRevocationIsPushed checks the wiring from REDIS_URL to the cache: a
// revoked token keeps working from the cache until the revocation event
// arrives, and stops at once when it does.
func TestRevocationIsPushed(t *testing.T) {
	t.Parallel()
	redisURL := servicetest.Require(t, "TEST_REDIS_URL")
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	prefix := fmt.Sprintf("rs-test-%d:", time.Now().UnixNano())

	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	fake.Register("tok", wire.Introspection{Scope: "read", Exp: time.Now().Add(time.Hour).Unix(), ClientID: "rs-id", Username: "a@b.c", Sub: "1"})
	base, _ := startServe(t, map[string]string{
		"DATABASE_URL":      testenv.SQLiteURL(t),
		"INTROSPECTION_URL": fake.URL,
		"REDIS_URL":         redisURL,
		"REDIS_PREFIX":      prefix,
	})
	channel := revocation.Channel(prefix)
	servicetest.Eventually(t, 10*time.Second, "the server subscribes to "+channel, func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[channel] > 0
	})
	// Wait until the answer is cached (the subscriber purges once right
	// after subscribing): two requests in a row without a new introspection.
	servicetest.Eventually(t, 5*time.Second, "the answer is cached", func() bool {
		if code, _ := get(t, base+"/items/", "tok"); code != 200 {
			t.Fatalf("before revocation: %d", code)
		}
		calls := fake.CallsFor("tok")
		if code, _ := get(t, base+"/items/", "tok"); code != 200 {
			t.Fatalf("before revocation: %d", code)
		}
		return fake.CallsFor("tok") == calls
	})
	fake.Revoke("tok")
	if code, _ := get(t, base+"/items/", "tok"); code != 200 {
		t.Fatalf("cached answer not used: %d", code) // proves the next 401 comes from the event
	}
	ev, err := revocation.Encode(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashHex("tok")}, Reason: "revoke", At: time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(context.Background(), channel, ev).Err(); err != nil {
		t.Fatal(err)
	}
	servicetest.Eventually(t, 5*time.Second, "the revoked token is refused", func() bool {
		code, _ := get(t, base+"/items/", "tok")
		return code == 401
	})
}

// TestCLI: help and version answer without reading the configuration or
// touching the database; no arguments and stray ones are usage errors.
func TestCLI(t *testing.T) {
	t.Parallel()
	dbFile := filepath.Join(t.TempDir(), "never.db")
	env := envOf(map[string]string{"DATABASE_URL": "sqlite:" + dbFile, "PORT": "not-a-port"})
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"no arguments", nil, 2, "", "usage: resourceserver <command>"},
		{"-h", []string{"-h"}, 0, "usage: resourceserver <command>", ""},
		{"--help", []string{"--help"}, 0, "usage: resourceserver <command>", ""},
		{"help", []string{"help"}, 0, "usage: resourceserver <command>", ""},
		{"serve -h", []string{"serve", "-h"}, 0, "usage: resourceserver serve", ""},
		{"serve --help", []string{"serve", "--help"}, 0, "usage: resourceserver serve", ""},
		{"migrate -h", []string{"migrate", "-h"}, 0, "usage: resourceserver migrate", ""},
		{"migrate --help", []string{"migrate", "--help"}, 0, "usage: resourceserver migrate", ""},
		{"version -h", []string{"version", "-h"}, 0, "usage: resourceserver version", ""},
		{"version --help", []string{"version", "--help"}, 0, "usage: resourceserver version", ""},
		{"version", []string{"version"}, 0, "module github.com/portcullis-oauth/portcullis/resourceserver", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"stray argument", []string{"migrate", "now"}, 2, "", `unexpected argument "now"`},
		{"bad config", []string{"migrate"}, 1, "", "PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli(context.Background(), tt.args, &out, &errb, env)
			if code != tt.code || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) ||
				(tt.stdout != "" && errb.Len() > 0) {
				t.Fatalf("exit %d (want %d)\nstdout %s\nstderr %s", code, tt.code, out.String(), errb.String())
			}
		})
	}
	if _, err := os.Stat(dbFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("help or version created the database file (%v)", err)
	}
}
