package e2e

import (
	"testing"
)

// TestBadBytesThroughTheProxy is issue 12's defect 4 end to end: a NUL
// byte in the email sent to the resource server's /users/token/ proxy
// reached PostgreSQL and came back as 503; it is the auth server's 400,
// passed through in RFC 6749's shape.
func TestBadBytesThroughTheProxy(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		s := startStack(t, b, nil)
		rs := newClient(t, s.rs.URL)
		for _, email := range []string{`user1\u0000@example.com`, `\u0000`, "user1\xff\xfe@example.com"} {
			r := rs.do("POST", "/users/token/", `{"email": "`+email+`", "password": "x"}`)
			if r.Status != 400 && r.Status != 401 {
				t.Fatalf("email %q: %d %s", email, r.Status, r.Body)
			}
			if r.JSON(t)["error"] == nil {
				t.Fatalf("email %q: not an OAuth error: %s", email, r.Body)
			}
		}
	})
}
