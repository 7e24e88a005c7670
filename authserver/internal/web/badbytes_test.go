package web_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// badTexts are values PostgreSQL cannot hold as text.
var badTexts = map[string]string{"NUL": "user1\x00@email.com", "invalid UTF-8": "user1\xff\xfe@email.com"}

// TestBadBytesGetTheProtocols4xx is issue 12's defect 4: a NUL byte or
// invalid UTF-8 in any field that reaches SQL is the client's 400 (or 401)
// in the endpoint's own shape, never a 503, on every endpoint that looks
// something up.
func TestBadBytesGetTheProtocols4xx(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		s.passwordClient(t)
		for name, bad := range badTexts {
			type call struct {
				name, method, path string
				form               url.Values
				basic              [2]string
				shape              string // "oauth", "drf" or "html"
			}
			calls := []call{
				{"token client_id", "POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}, "client_id": {bad}, "client_secret": {"x"}}, [2]string{}, "oauth"},
				{"token Basic client_id", "POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, [2]string{bad, "x"}, "oauth"},
				{"token username", "POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {bad}, "password": {"x"}}, [2]string{"pw-id", "pw-secret"}, "oauth"},
				{"introspect client_id", "POST", "/o/introspect/", url.Values{"token": {"x"}, "client_id": {bad}, "client_secret": {"x"}}, [2]string{}, "oauth"},
				{"revoke client_id", "POST", "/o/revoke_token/", url.Values{"token": {"x"}}, [2]string{bad, "x"}, "oauth"},
				{"authorize client_id", "GET", "/o/authorize/?" + url.Values{"client_id": {bad}, "response_type": {"code"}}.Encode(), nil, [2]string{}, "html"},
				{"signup email", "POST", "/users/signup/", url.Values{"email": {bad}, "password": {pw}, "password2": {pw}}, [2]string{}, "drf"},
			}
			for _, c := range calls {
				t.Run(name+" "+c.name, func(t *testing.T) {
					var body *strings.Reader
					if c.form != nil {
						body = strings.NewReader(c.form.Encode())
					} else {
						body = strings.NewReader("")
					}
					req, _ := http.NewRequest(c.method, s.srv.URL+c.path, body)
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					if c.basic[0] != "" {
						req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.basic[0])+":"+url.QueryEscape(c.basic[1]))))
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					checkShape(t, resp, c.shape)
				})
			}
			t.Run(name+" login username", func(t *testing.T) {
				b := s.browser(t)
				p := b.loginWith(bad, "x")
				if p.status != http.StatusBadRequest || !strings.HasPrefix(p.h.Get("Content-Type"), "text/html") {
					t.Fatalf("%d %q", p.status, p.h.Get("Content-Type"))
				}
			})
		}
	})
}

func checkShape(t *testing.T, resp *http.Response, shape string) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 400 or 401", resp.StatusCode)
	}
	if shape == "html" {
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("Content-Type %q, want the HTML page", resp.Header.Get("Content-Type"))
		}
		return
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if _, ok := m["error"]; shape == "oauth" && !ok {
		t.Fatalf("not RFC 6749 §5.2: %v", m)
	}
	if shape == "drf" && len(m) == 0 {
		t.Fatalf("not DRF's shape: %v", m)
	}
}
