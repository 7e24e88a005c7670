package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
	redisURL := testenv.Require(t, "TEST_REDIS_URL")
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
	// Wait until the subscriber is listening.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := rdb.PubSubNumSub(context.Background(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[channel] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never subscribed to " + channel)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Wait until the answer is cached (the subscriber purges once right
	// after subscribing): two requests in a row without a new introspection.
	for i := 0; ; i++ {
		if code, _ := get(t, base+"/items/", "tok"); code != 200 {
			t.Fatalf("before revocation: %d", code)
		}
		calls := fake.CallsFor("tok")
		if code, _ := get(t, base+"/items/", "tok"); code != 200 {
			t.Fatalf("before revocation: %d", code)
		}
		if fake.CallsFor("tok") == calls {
			break
		}
		if i > 50 {
			t.Fatal("the answer is never cached")
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	deadline = time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, base+"/items/", "tok")
		if code == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked token still accepted: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
