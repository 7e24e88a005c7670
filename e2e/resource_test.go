package e2e

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// stack is an auth server and a resource server sharing one backend.
type stack struct {
	auth, rs *proc
	b        backend
	redisURL string
}

// startStack starts both services. The resource server introspects with the
// tutorial's rs-id/rs-secret and hears revocations on the auth server's Redis.
func startStack(t *testing.T, b backend, rsExtra map[string]string) *stack {
	t.Helper()
	return startStackEnv(t, b, nil, rsExtra)
}

// startStackEnv is startStack with extra auth server settings too.
func startStackEnv(t *testing.T, b backend, authExtra, rsExtra map[string]string) *stack {
	t.Helper()
	extra := map[string]string{}
	for k, v := range authExtra {
		extra[k] = v
	}
	redisURL := b.RedisURL
	if redisURL == "" {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		extra["EMBEDDED_REDIS_ADDR"] = addr
		redisURL = "redis://" + addr
	}
	auth := startAuth(t, b, extra)
	env := map[string]string{
		"DATABASE_URL":                b.RSDatabase,
		"REDIS_URL":                   redisURL,
		"REDIS_PREFIX":                b.RedisPrefix,
		"AUTH_SERVER_URL":             auth.URL,
		"INTROSPECTION_CLIENT_ID":     "rs-id",
		"INTROSPECTION_CLIENT_SECRET": "rs-secret",
	}
	for k, v := range rsExtra {
		env[k] = v
	}
	rs := start(t, "resourceserver", env)
	return &stack{auth: auth, rs: rs, b: b, redisURL: redisURL}
}

// login gets a token pair through the resource server's BFF.
func login(t *testing.T, rs *client, email, pw string) (access, refresh string) {
	t.Helper()
	r := rs.do("POST", "/users/token/", fmt.Sprintf(`{"email": %q, "password": %q}`, email, pw))
	expectStatus(t, r, 200)
	m := r.JSON(t)
	return m["access_token"].(string), m["refresh_token"].(string)
}

// TestResourceServerTutorialFlow: the tutorial's Part 2 flow, through the
// resource server only: signup, token, item CRUD, refresh, password change;
// plus the access rules the tutorial lacked.
func TestResourceServerTutorialFlow(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		s := startStack(t, b, nil)
		rs := newClient(t, s.rs.URL)

		expectStatus(t, rs.do("POST", "/users/signup/", `{"email": "alice@example.com", "password": "testpass123", "password2": "testpass123"}`), 201)
		// The BFF passes the auth server's status through (the tutorial answered 200).
		r := rs.do("POST", "/users/signup/", `{"email": "alice@example.com", "password": "testpass123", "password2": "testpass123"}`)
		expectStatus(t, r, 400)
		expectStatus(t, rs.do("POST", "/users/token/", `{"email": "alice@example.com", "password": "wrong"}`), 400)

		at, rt := login(t, rs, "alice@example.com", "testpass123")
		bearer := "Bearer " + at

		r = rs.do("POST", "/items/", `{"name": "lamp", "description": "a desk lamp", "price": "12.50"}`, "Authorization", bearer)
		expectStatus(t, r, 201)
		item := r.JSON(t)
		if item["price"] != "12.50" || item["name"] != "lamp" {
			t.Fatalf("created item = %s", r.Body)
		}
		user, _ := item["user"].(map[string]any)
		if user["email"] != "alice@example.com" {
			t.Fatalf("item user = %v", item["user"])
		}
		id := fmt.Sprint(item["id"])

		r = rs.do("GET", "/items/", nil, "Authorization", bearer)
		expectStatus(t, r, 200)
		if !strings.Contains(string(r.Body), `"lamp"`) {
			t.Fatalf("list = %s", r.Body)
		}
		r = rs.do("PATCH", "/items/"+id+"/", `{"price": "13.00"}`, "Authorization", bearer)
		expectStatus(t, r, 200)
		if r.JSON(t)["price"] != "13.00" {
			t.Fatalf("patched = %s", r.Body)
		}
		expectStatus(t, rs.do("PUT", "/items/"+id+"/", `{"name": "lamp", "description": "brighter", "price": "14.00"}`, "Authorization", bearer), 200)
		expectStatus(t, rs.do("GET", "/items/", nil), 401)

		// Another user can read but not change alice's item.
		expectStatus(t, rs.do("POST", "/users/signup/", `{"email": "bob@example.com", "password": "testpass123", "password2": "testpass123"}`), 201)
		bobAT, _ := login(t, rs, "bob@example.com", "testpass123")
		expectStatus(t, rs.do("GET", "/items/"+id+"/", nil, "Authorization", "Bearer "+bobAT), 200)
		expectStatus(t, rs.do("PATCH", "/items/"+id+"/", `{"price": "0.01"}`, "Authorization", "Bearer "+bobAT), 403)
		expectStatus(t, rs.do("DELETE", "/items/"+id+"/", nil, "Authorization", "Bearer "+bobAT), 403)

		// A read-only token cannot write: 403 insufficient_scope.
		auth := newClient(t, s.auth.URL)
		r = auth.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"bob@example.com"}, "password": {"testpass123"}, "scope": {"read"}},
			"Authorization", basicAuth("rs-id", "rs-secret"))
		expectStatus(t, r, 200)
		readOnly := "Bearer " + r.JSON(t)["access_token"].(string)
		expectStatus(t, rs.do("GET", "/items/", nil, "Authorization", readOnly), 200)
		r = rs.do("POST", "/items/", `{"name": "x", "description": "y", "price": "1.00"}`, "Authorization", readOnly)
		expectStatus(t, r, 403)
		if h := r.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) {
			t.Fatalf("WWW-Authenticate = %q", h)
		}

		expectStatus(t, rs.do("DELETE", "/items/"+id+"/", nil, "Authorization", bearer), 204)
		expectStatus(t, rs.do("GET", "/items/"+id+"/", nil, "Authorization", bearer), 404)

		// Refresh through the BFF, then change the password through it.
		r = rs.do("POST", "/users/token/refresh/", fmt.Sprintf(`{"refresh": %q}`, rt))
		expectStatus(t, r, 200)
		at2 := r.JSON(t)["access_token"].(string)
		expectStatus(t, rs.do("GET", "/items/", nil, "Authorization", "Bearer "+at2), 200)
		r = rs.do("PUT", "/users/password/", `{"old_password": "testpass123", "password": "n3w-Passw0rd!", "password2": "n3w-Passw0rd!"}`, "Authorization", "Bearer "+at2)
		expectStatus(t, r, 200)
		login(t, rs, "alice@example.com", "n3w-Passw0rd!")
	})
}

// TestRevocationReachesResourceServer revokes tokens the resource server
// has cached and measures how long until it refuses them (no TTL wait).
func TestRevocationReachesResourceServer(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		s := startStack(t, b, map[string]string{"INTROSPECTION_CACHE_TTL": "10m"})
		rs := newClient(t, s.rs.URL)
		auth := newClient(t, s.auth.URL)
		expectStatus(t, rs.do("POST", "/users/signup/", `{"email": "rev@example.com", "password": "testpass123", "password2": "testpass123"}`), 201)

		const rounds = 40
		var lat []time.Duration
		for i := 0; i < rounds; i++ {
			at, _ := login(t, rs, "rev@example.com", "testpass123")
			expectStatus(t, rs.do("GET", "/items/", nil, "Authorization", "Bearer "+at), 200) // now cached
			expectStatus(t, auth.do("POST", "/o/revoke_token/", url.Values{"token": {at}}, "Authorization", basicAuth("rs-id", "rs-secret")), 200)
			revoked := time.Now()
			for {
				r := rs.do("GET", "/items/", nil, "Authorization", "Bearer "+at)
				if r.Status == 401 {
					lat = append(lat, time.Since(revoked))
					break
				}
				if time.Since(revoked) > 5*time.Second {
					t.Fatalf("round %d: revoked token still accepted after 5 s (cache TTL is 10m)", i)
				}
				time.Sleep(time.Millisecond)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50, p99 := lat[len(lat)/2], lat[(len(lat)*99+99)/100-1]
		t.Logf("revocation-to-refusal over loopback, %d rounds: p50 %v, p99 %v, max %v", rounds, p50, p99, lat[len(lat)-1])
		report(t, "revocation_to_refusal", fmt.Sprintf("p50=%v p99=%v n=%d", p50, p99, rounds))
	})
}

// report appends a measured figure to $E2E_REPORT, when set, for BENCHMARKS.md.
func report(t *testing.T, name, value string) {
	path := os.Getenv("E2E_REPORT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Logf("report: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\t%s\t%s\n", t.Name(), name, value)
}

// TestAuthServerOutage: with the auth server down, cached tokens keep
// working, unknown ones get 503, and everything recovers without restarting
// the resource server.
func TestAuthServerOutage(t *testing.T) {
	b := realBackend(t)
	s := startStack(t, b, map[string]string{"INTROSPECTION_CACHE_TTL": "10m"})
	rs := newClient(t, s.rs.URL)
	expectStatus(t, rs.do("POST", "/users/signup/", `{"email": "out@example.com", "password": "testpass123", "password2": "testpass123"}`), 201)
	cached, _ := login(t, rs, "out@example.com", "testpass123")
	fresh, _ := login(t, rs, "out@example.com", "testpass123")
	expectStatus(t, rs.do("GET", "/items/", nil, "Authorization", "Bearer "+cached), 200)

	s.auth.stop(t)
	expectStatus(t, rs.do("GET", "/items/", nil, "Authorization", "Bearer "+cached), 200)
	r := rs.do("GET", "/items/", nil, "Authorization", "Bearer "+fresh)
	expectStatus(t, r, 503)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}

	s.auth.launch(t)
	servicetest.Eventually(t, 10*time.Second, "the resource server recovers with the auth server", func() bool {
		r = rs.do("GET", "/items/", nil, "Authorization", "Bearer "+fresh)
		return r.Status == 200
	})
}

// TestOneIntrospectionForManyRequests: 200 concurrent requests carrying one
// new token cost the auth server exactly one introspection, counted in its
// access log.
func TestOneIntrospectionForManyRequests(t *testing.T) {
	b := realBackend(t)
	s := startStack(t, b, nil)
	rs := newClient(t, s.rs.URL)
	expectStatus(t, rs.do("POST", "/users/signup/", `{"email": "flood@example.com", "password": "testpass123", "password2": "testpass123"}`), 201)
	at, _ := login(t, rs, "flood@example.com", "testpass123")
	before := strings.Count(s.auth.out.String(), `"path":"/o/introspect/"`)

	var wg sync.WaitGroup
	statuses := make([]int, 200)
	gate := make(chan struct{})
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			statuses[i] = rs.do("GET", "/items/", nil, "Authorization", "Bearer "+at).Status
		}(i)
	}
	close(gate)
	wg.Wait()
	for i, st := range statuses {
		if st != 200 {
			t.Fatalf("request %d: status %d", i, st)
		}
	}
	s.auth.stop(t) // flush the access log
	if n := strings.Count(s.auth.out.String(), `"path":"/o/introspect/"`) - before; n != 1 {
		t.Fatalf("%d introspection calls for 200 concurrent requests, want 1", n)
	}
}
