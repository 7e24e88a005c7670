package e2e

import (
	"net/url"
	"strings"
	"testing"
)

// TestMetricsEndpoints: both services serve Prometheus metrics that count
// what just happened, and no credential appears in either log.
func TestMetricsEndpoints(t *testing.T) {
	s := startStack(t, embeddedBackend(t), nil)
	rs, auth := newClient(t, s.rs.URL), newClient(t, s.auth.URL)
	expectStatus(t, rs.do("POST", "/users/signup/", `{"email": "m@example.com", "password": "testpass123", "password2": "testpass123"}`), 201)
	at, rt := login(t, rs, "m@example.com", "testpass123")
	for i := 0; i < 3; i++ {
		expectStatus(t, rs.do("GET", "/items/", nil, "Authorization", "Bearer "+at), 200)
	}
	expectStatus(t, auth.do("POST", "/o/revoke_token/", url.Values{"token": {at}}, "Authorization", basicAuth("rs-id", "rs-secret")), 200)
	expectStatus(t, auth.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"m@example.com"}, "password": {"bad"}},
		"Authorization", basicAuth("rs-id", "rs-secret")), 400)

	a := string(auth.do("GET", "/metrics", nil).Body)
	for _, want := range []string{
		`portcullis_tokens_issued_total{grant="password"} 1`,
		`portcullis_introspections_total{result="active"} 1`,
		`portcullis_revocations_total{reason="revoke"} 1`,
		`portcullis_http_request_duration_seconds_count{method="POST",route="/o/token/",status="200"} 1`,
		`portcullis_logins_throttled_total 0`,
	} {
		if !strings.Contains(a, want) {
			t.Errorf("auth server metrics lack %s", want)
		}
	}
	r := string(rs.do("GET", "/metrics", nil).Body)
	for _, want := range []string{
		`portcullis_introspection_cache_events_total{event="miss"} 1`,
		`portcullis_introspection_cache_events_total{event="hit"} 2`,
		`portcullis_http_request_duration_seconds_count{method="GET",route="/items/",status="200"} 3`,
	} {
		if !strings.Contains(r, want) {
			t.Errorf("resource server metrics lack %s", want)
		}
	}
	s.rs.stop(t)
	s.auth.stop(t)
	for _, p := range []*proc{s.auth, s.rs} {
		for _, secret := range []string{at, rt, "rs-secret", "testpass123"} {
			if strings.Contains(p.out.String(), secret) {
				t.Fatalf("%s logged a credential (%.6s…)", p.name, secret)
			}
		}
	}
}
