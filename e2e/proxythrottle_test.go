package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// runLocalTrustedProxies is the TRUSTED_PROXIES default deploy/run-local.sh
// (make run) gives the auth server.
func runLocalTrustedProxies(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", "run-local.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`TRUSTED_PROXIES="\$\{TRUSTED_PROXIES:-([^}"]*)\}"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("deploy/run-local.sh gives the auth server no TRUSTED_PROXIES default")
	}
	return string(m[1])
}

// TestProxiedLoginsAreThrottledPerClient is issue 12's defect 2 behind the
// resource server's /users/token/ proxy, with make run's settings: one
// client's failures use up its own address's allowance, not that of every
// user of the proxy.
func TestProxiedLoginsAreThrottledPerClient(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		s := startStackEnv(t, b, map[string]string{"TRUSTED_PROXIES": runLocalTrustedProxies(t), "LOGIN_THROTTLE_LIMIT": "3"}, nil)
		rs := newClient(t, s.rs.URL)
		for _, email := range []string{"mallory@example.com", "alice@example.com"} {
			expectStatus(t, rs.do("POST", "/users/signup/", `{"email": "`+email+`", "password": "testpass123", "password2": "testpass123"}`), 201)
		}
		// Mallory fails three times on his own account and is then stopped.
		for range 3 {
			expectStatus(t, rs.do("POST", "/users/token/", `{"email": "mallory@example.com", "password": "wrong"}`, "X-Forwarded-For", "198.51.100.1"), 400)
		}
		expectStatus(t, rs.do("POST", "/users/token/", `{"email": "someone@example.com", "password": "wrong"}`, "X-Forwarded-For", "198.51.100.1"), 429)
		// Alice, another browser behind the same proxy, is not.
		expectStatus(t, rs.do("POST", "/users/token/", `{"email": "alice@example.com", "password": "testpass123"}`, "X-Forwarded-For", "203.0.113.5"), 200)
	})
}
