package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// TestTwoAuthServersTwoResourceServers: four processes share one Redis and
// one database. A token issued by auth server A introspects on B, and a
// revocation on A is refused by both resource servers at once.
func TestTwoAuthServersTwoResourceServers(t *testing.T) {
	b := realBackend(t)
	a := startAuth(t, b, nil)
	bEnv := authEnv(b, nil)
	authB := start(t, "authserver", bEnv)
	rsEnv := func(authURL string) map[string]string {
		return map[string]string{
			"DATABASE_URL": b.RSDatabase, "REDIS_URL": b.RedisURL, "REDIS_PREFIX": b.RedisPrefix,
			"AUTH_SERVER_URL": authURL, "INTROSPECTION_CLIENT_ID": "rs-id", "INTROSPECTION_CLIENT_SECRET": "rs-secret",
			"INTROSPECTION_CACHE_TTL": "10m",
		}
	}
	rs1 := start(t, "resourceserver", rsEnv(a.URL))
	rs2 := start(t, "resourceserver", rsEnv(authB.URL))

	ca, cb := newClient(t, a.URL), newClient(t, authB.URL)
	signup(t, ca, "scale@example.com", "correct horse battery")
	rs := basicAuth("rs-id", "rs-secret")
	r := ca.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"scale@example.com"}, "password": {"correct horse battery"}}, "Authorization", rs)
	expectStatus(t, r, 200)
	at := r.JSON(t)["access_token"].(string)

	r = cb.do("POST", "/o/introspect/", url.Values{"token": {at}}, "Authorization", rs)
	if r.JSON(t)["active"] != true {
		t.Fatalf("instance B does not know A's token: %s", r.Body)
	}
	c1, c2 := newClient(t, rs1.URL), newClient(t, rs2.URL)
	for _, c := range []*client{c1, c2} {
		expectStatus(t, c.do("GET", "/items/", nil, "Authorization", "Bearer "+at), 200)
	}
	expectStatus(t, ca.do("POST", "/o/revoke_token/", url.Values{"token": {at}}, "Authorization", rs), 200)
	for i, c := range []*client{c1, c2} {
		servicetest.Eventually(t, 3*time.Second, fmt.Sprintf("resource server %d refuses the revoked token", i+1), func() bool {
			return c.do("GET", "/items/", nil, "Authorization", "Bearer "+at).Status == 401
		})
	}
}

// TestGracefulShutdownDrains sends SIGTERM while slow requests are in
// flight: every one of them completes.
func TestGracefulShutdownDrains(t *testing.T) {
	b := embeddedBackend(t)
	// A costly KDF makes each login take a noticeable time.
	auth := startAuth(t, b, map[string]string{"ARGON2_TIME": "8", "ARGON2_MEMORY_KIB": "65536", "SHUTDOWN_TIMEOUT": "25s"})
	c := newClient(t, auth.URL)
	signup(t, c, "drain@example.com", "correct horse battery")
	rs := basicAuth("rs-id", "rs-secret")

	const n = 4
	// Each login on a connection of its own, so that "accepted by the
	// server" below covers every one of them.
	fresh := &client{t: t, base: auth.URL, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}}
	port := strings.TrimPrefix(auth.URL[strings.LastIndex(auth.URL, ":"):], ":")
	var wrote atomic.Int32
	sent := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Add(1) },
	})
	var wg sync.WaitGroup
	statuses := make([]int, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := fresh.tryCtx(sent, "POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"drain@example.com"}, "password": {"correct horse battery"}}, "Authorization", rs)
			statuses[i], errs[i] = r.Status, err
		}(i)
	}
	// Once every request is written and every connection accepted by the
	// server (its listening socket's accept queue is empty), ask it to
	// stop: a graceful shutdown serves the requests of the connections it
	// has, while one still in the accept queue would be reset. Each login
	// runs a KDF of about a second and at most two run at once, so all four
	// are still in flight when SIGTERM arrives.
	servicetest.Eventually(t, 10*time.Second, "every login request is sent and its connection accepted", func() bool {
		return wrote.Load() == n && acceptQueue(t, port) == 0
	})
	if n := strings.Count(auth.out.String(), `"path":"/o/token/"`); n != 0 {
		t.Fatalf("%d logins finished before SIGTERM: the test would not show draining", n)
	}
	auth.stop(t)
	wg.Wait()
	for i := range statuses {
		if statuses[i] != 200 {
			t.Fatalf("request %d: status %d, error %v (in flight at SIGTERM, so it must complete)", i, statuses[i], errs[i])
		}
	}
	if !strings.Contains(auth.out.String(), "draining in-flight requests") {
		t.Fatal("the server did not log a graceful shutdown")
	}
}

// TestRequestIDPropagates: the X-Request-ID a caller gives the resource
// server reaches the auth server's log on the introspection it causes.
func TestRequestIDPropagates(t *testing.T) {
	s := startStack(t, embeddedBackend(t), nil)
	rs := newClient(t, s.rs.URL)
	expectStatus(t, rs.do("POST", "/users/signup/", `{"email": "rid@example.com", "password": "testpass123", "password2": "testpass123"}`), 201)
	at, _ := login(t, rs, "rid@example.com", "testpass123")
	r := rs.do("GET", "/items/", nil, "Authorization", "Bearer "+at, "X-Request-ID", "trace-4242-abc")
	expectStatus(t, r, 200)
	if r.Header.Get("X-Request-ID") != "trace-4242-abc" {
		t.Fatalf("resource server answered X-Request-ID %q", r.Header.Get("X-Request-ID"))
	}
	s.auth.stop(t)
	if !strings.Contains(s.auth.out.String(), `"request_id":"trace-4242-abc","method":"POST","path":"/o/introspect/"`) {
		t.Fatalf("the auth server's log has no introspection with the caller's request id")
	}
}

// acceptQueue returns how many connections wait in the accept queue of the
// loopback server listening on port (Linux: the rx_queue of its LISTEN
// line in /proc/net/tcp or tcp6).
func acceptQueue(t *testing.T, port string) int {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("port %q: %v", port, err)
	}
	local := fmt.Sprintf(":%04X", p)
	found := false
	queued := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			// sl local_address rem_address st tx_queue:rx_queue ...
			if len(fields) < 5 || !strings.HasSuffix(fields[1], local) || fields[3] != "0A" {
				continue
			}
			found = true
			_, rx, _ := strings.Cut(fields[4], ":")
			n, err := strconv.ParseInt(rx, 16, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", f, line, err)
			}
			queued += int(n)
		}
	}
	if !found {
		servicetest.Missing(t, "Linux's /proc/net/tcp with the server's listening socket")
	}
	return queued
}
