package bff

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/resourceserver/internal/requestid"
)

// upstream is a fake auth server that records what it received and answers
// with a canned status, headers and body.
type upstream struct {
	srv *httptest.Server

	mu     sync.Mutex
	got    []received
	status int
	header http.Header
	body   string
	delay  time.Duration
}

type received struct {
	method, path string
	header       http.Header
	body         string
}

func newUpstream(t *testing.T, status int, header http.Header, body string) *upstream {
	u := &upstream{status: status, header: header, body: body}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got = append(u.got, received{r.Method, r.URL.Path, r.Header.Clone(), string(b)})
		delay := u.delay
		u.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range u.header {
			w.Header()[k] = v
		}
		w.WriteHeader(u.status)
		_, _ = io.WriteString(w, u.body)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) only(t *testing.T) received {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) != 1 {
		t.Fatalf("upstream got %d requests, want 1", len(u.got))
	}
	return u.got[0]
}

const (
	testClientID     = "rs-id"
	testClientSecret = "s3cr:t+/%x" // needs form-encoding before Basic
)

func newFront(t *testing.T, upstreamURL string, hc *http.Client) *httptest.Server {
	t.Helper()
	p, err := New(Config{AuthServerURL: upstreamURL, ClientID: testClientID, ClientSecret: testClientSecret, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(requestid.Middleware())
	p.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

type call struct {
	method, path, contentType, body string
	header                          map[string]string
}

func send(t *testing.T, base string, c call) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func basicOf(t *testing.T, h string) (string, string) {
	t.Helper()
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		t.Fatalf("Authorization %q is not Basic", h)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	id, secret, _ := strings.Cut(string(raw), ":")
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	return id, secret
}

func TestTokenGrants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      call
		wantForm url.Values
	}{
		{"password from JSON", call{"POST", "/users/token/", "application/json", `{"email":"a@b.c","password":"p&w=d"}`, nil},
			url.Values{"grant_type": {"password"}, "username": {"a@b.c"}, "password": {"p&w=d"}}},
		{"password from a form, no slash", call{"POST", "/users/token", "application/x-www-form-urlencoded", "email=a%40b.c&password=pw", nil},
			url.Values{"grant_type": {"password"}, "username": {"a@b.c"}, "password": {"pw"}}},
		{"missing password is left for the auth server to name", call{"POST", "/users/token/", "application/json", `{"email":"a@b.c"}`, nil},
			url.Values{"grant_type": {"password"}, "username": {"a@b.c"}}},
		{"refresh", call{"POST", "/users/token/refresh/", "application/json", `{"refresh":"rt-123"}`, nil},
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt-123"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, 400, http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}},
				`{"error": "invalid_grant", "error_description": "Invalid credentials given."}`)
			front := newFront(t, up.srv.URL, nil)
			tt.req.header = map[string]string{"X-Request-ID": "req-42", "X-Forwarded-For": "203.0.113.9"}
			res, body := send(t, front.URL, tt.req)

			// The auth server's answer comes back unchanged.
			if res.StatusCode != 400 || body != up.body {
				t.Fatalf("got %d %s, want 400 %s", res.StatusCode, body, up.body)
			}
			if res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("headers not passed through: %v", res.Header)
			}
			// What the auth server received.
			got := up.only(t)
			if got.method != "POST" || got.path != "/o/token/" {
				t.Fatalf("upstream got %s %s", got.method, got.path)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Fatalf("Content-Type %q", ct)
			}
			form, err := url.ParseQuery(got.body)
			if err != nil {
				t.Fatal(err)
			}
			if form.Encode() != tt.wantForm.Encode() {
				t.Fatalf("form %v, want %v", form, tt.wantForm)
			}
			if id, secret := basicOf(t, got.header.Get("Authorization")); id != testClientID || secret != testClientSecret {
				t.Fatalf("Basic %q:%q", id, secret)
			}
			if rid := got.header.Get("X-Request-ID"); rid != "req-42" {
				t.Fatalf("X-Request-ID %q", rid)
			}
			if xff := got.header.Get("X-Forwarded-For"); xff != "203.0.113.9, 127.0.0.1" {
				t.Fatalf("X-Forwarded-For %q", xff)
			}
		})
	}
}

func TestForwardedAsIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		req        call
		upStatus   int
		upHeader   http.Header
		upBody     string
		wantMethod string
		wantPath   string
		wantAuth   string
	}{
		{"signup keeps body, type and 201", call{"POST", "/users/signup/", "application/json", `{"email":"n@e.w","password":"x","password2":"x"}`, nil},
			201, http.Header{"Content-Type": {"application/json"}}, `{"email":"n@e.w"}`, "POST", "/users/signup/", ""},
		{"signup error passes its 400", call{"POST", "/users/signup", "application/x-www-form-urlencoded", "email=bad", nil},
			400, http.Header{"Content-Type": {"application/json"}}, `{"email":["Enter a valid email address."]}`, "POST", "/users/signup/", ""},
		{"password PUT carries the caller's token", call{"PUT", "/users/password/", "application/json", `{"old_password":"a","password":"b","password2":"b"}`, map[string]string{"Authorization": "Bearer at-1"}},
			200, http.Header{"Content-Type": {"application/json"}}, `{}`, "PUT", "/users/password/", "Bearer at-1"},
		{"password PATCH keeps its method", call{"PATCH", "/users/password", "application/json", `{}`, map[string]string{"Authorization": "Bearer at-2"}},
			400, http.Header{"Content-Type": {"application/json"}}, `{"password":["This field is required."]}`, "PATCH", "/users/password/", "Bearer at-2"},
		{"password 401 keeps its challenge", call{"PUT", "/users/password/", "application/json", `{}`, nil},
			401, http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {`Bearer realm="api"`}}, `{"detail":"Authentication credentials were not provided."}`, "PUT", "/users/password/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, tt.upStatus, tt.upHeader, tt.upBody)
			front := newFront(t, up.srv.URL, nil)
			res, body := send(t, front.URL, tt.req)
			if res.StatusCode != tt.upStatus || body != tt.upBody {
				t.Fatalf("got %d %s, want %d %s", res.StatusCode, body, tt.upStatus, tt.upBody)
			}
			for k := range tt.upHeader {
				if res.Header.Get(k) != tt.upHeader.Get(k) {
					t.Fatalf("header %s = %q, want %q", k, res.Header.Get(k), tt.upHeader.Get(k))
				}
			}
			got := up.only(t)
			if got.method != tt.wantMethod || got.path != tt.wantPath {
				t.Fatalf("upstream got %s %s", got.method, got.path)
			}
			if got.body != tt.req.body || got.header.Get("Content-Type") != tt.req.contentType {
				t.Fatalf("upstream got body %q type %q", got.body, got.header.Get("Content-Type"))
			}
			if a := got.header.Get("Authorization"); a != tt.wantAuth {
				t.Fatalf("Authorization %q, want %q", a, tt.wantAuth)
			}
			if got.header.Get("X-Request-ID") == "" {
				t.Fatal("no X-Request-ID sent upstream")
			}
		})
	}
}

func TestBadRequestsNeverReachUpstream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		req    call
		status int
		prefix string
	}{
		{"malformed JSON", call{"POST", "/users/token/", "application/json", `{"email":`, nil}, 400, `{"detail":"JSON parse error - `},
		{"email not a string", call{"POST", "/users/token/", "application/json", `{"email":1,"password":"x"}`, nil}, 400, `{"email":["Not a valid string."]}`},
		{"not an object", call{"POST", "/users/token/refresh/", "application/json", `["x"]`, nil}, 400, `{"non_field_errors":`},
		{"unsupported type", call{"POST", "/users/token/", "text/plain", `x`, nil}, 415, `{"detail":"Unsupported media type`},
		{"too large", call{"POST", "/users/signup/", "application/json", strings.Repeat("x", MaxBody+1), nil}, 413, `{"detail":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, 200, nil, `{}`)
			front := newFront(t, up.srv.URL, nil)
			res, body := send(t, front.URL, tt.req)
			if res.StatusCode != tt.status || !strings.HasPrefix(body, tt.prefix) {
				t.Fatalf("got %d %s, want %d %s...", res.StatusCode, body, tt.status, tt.prefix)
			}
			up.mu.Lock()
			defer up.mu.Unlock()
			if len(up.got) != 0 {
				t.Fatalf("upstream was called %d times", len(up.got))
			}
		})
	}
}

func TestUpstreamFailures(t *testing.T) {
	t.Parallel()
	t.Run("unreachable is 502", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t, 200, nil, "")
		addr := up.srv.URL
		up.srv.Close() // nothing listens there now
		front := newFront(t, addr, nil)
		res, body := send(t, front.URL, call{"POST", "/users/token/", "application/json", `{"email":"a","password":"b"}`, nil})
		if res.StatusCode != 502 || body != `{"detail":"The authentication server is unavailable."}` || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("got %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	})
	t.Run("timeout is 504", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t, 200, nil, "{}")
		up.mu.Lock()
		up.delay = 2 * time.Second
		up.mu.Unlock()
		front := newFront(t, up.srv.URL, &http.Client{Timeout: 100 * time.Millisecond})
		res, body := send(t, front.URL, call{"POST", "/users/signup/", "application/json", `{}`, nil})
		if res.StatusCode != 504 || !strings.Contains(body, "did not answer in time") {
			t.Fatalf("got %d %s", res.StatusCode, body)
		}
	})
}

func TestNewRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "localhost:8000", "ftp://x", "http://"} {
		t.Run(u, func(t *testing.T) {
			if _, err := New(Config{AuthServerURL: u}); err == nil {
				t.Fatalf("New accepted %q", u)
			}
		})
	}
}
