package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestHandlerAnswers(t *testing.T) {
	rg := newRig(t, WithRequiredScopes("read"))
	exp := time.Now().Add(time.Hour)
	rg.fake.Register("goodtoken", active("read write", exp))
	rg.fake.Register("readonly", active("read", exp))
	rg.fake.Register("writeonly", active("write", exp))
	h := rg.v.Handler(okHandler)
	hw := rg.v.Handler(rg.v.Require("write")(okHandler))

	tests := []struct {
		name      string
		h         http.Handler
		authz     []string
		status    int
		challenge string
		detail    string
	}{
		{"ok", h, []string{"Bearer goodtoken"}, 200, "", ""},
		{"scheme case-insensitive", h, []string{"bEaReR goodtoken"}, 200, "", ""},
		{"several spaces", h, []string{"Bearer   goodtoken"}, 200, "", ""},
		{"missing", h, nil, 401, `Bearer realm="api"`, "Authentication credentials were not provided."},
		{"other scheme", h, []string{"Basic cnMtaWQ6cnMtc2VjcmV0"}, 401, `Bearer realm="api"`, "Authentication credentials were not provided."},
		{"unknown token", h, []string{"Bearer nosuchtoken"}, 401, `Bearer realm="api", error="invalid_token"`, "The access token is invalid."},
		{"bearer without token", h, []string{"Bearer"}, 400, `Bearer realm="api", error="invalid_request"`, "Bearer scheme without a token."},
		{"bearer and spaces", h, []string{"Bearer    "}, 400, `Bearer realm="api", error="invalid_request"`, "Bearer scheme without a token."},
		{"two tokens", h, []string{"Bearer abc def"}, 400, `Bearer realm="api", error="invalid_request"`, "Malformed bearer token."},
		{"bad chars", h, []string{"Bearer abc,def"}, 400, `Bearer realm="api", error="invalid_request"`, "Malformed bearer token."},
		{"padding inside", h, []string{"Bearer ab=c"}, 400, `Bearer realm="api", error="invalid_request"`, "Malformed bearer token."},
		{"two headers", h, []string{"Bearer goodtoken", "Bearer goodtoken"}, 400, `Bearer realm="api", error="invalid_request"`, "More than one Authorization header."},
		{"global scope missing", h, []string{"Bearer writeonly"}, 403, `Bearer realm="api", error="insufficient_scope", scope="read"`, "You do not have permission to perform this action."},
		{"route scope ok", hw, []string{"Bearer goodtoken"}, 200, "", ""},
		{"route scope missing", hw, []string{"Bearer readonly"}, 403, `Bearer realm="api", error="insufficient_scope", scope="write"`, "You do not have permission to perform this action."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 2 { // the second round is served from the cache
				r := httptest.NewRequest(http.MethodGet, "/items/", nil)
				for _, a := range tc.authz {
					r.Header.Add("Authorization", a)
				}
				w := httptest.NewRecorder()
				tc.h.ServeHTTP(w, r)
				if w.Code != tc.status {
					t.Fatalf("round %d: status %d, want %d (body %s)", round, w.Code, tc.status, w.Body)
				}
				if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
					t.Errorf("round %d: WWW-Authenticate %q, want %q", round, got, tc.challenge)
				}
				if tc.status == 200 {
					if w.Body.String() != "hello user1@email.com" {
						t.Errorf("body %q", w.Body)
					}
					continue
				}
				var body struct{ Detail string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Detail != tc.detail {
					t.Errorf("round %d: body %s (%v), want detail %q", round, w.Body, err, tc.detail)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			}
		})
	}
	if c := rg.fake.CallsFor("goodtoken"); c != 1 {
		t.Errorf("goodtoken introspected %d times, want 1", c)
	}
	if c := rg.fake.CallsFor("nosuchtoken"); c != 1 {
		t.Errorf("nosuchtoken introspected %d times, want 1 (negative cache)", c)
	}
}

func TestRequireAlone(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("tok", active("read", time.Now().Add(time.Hour)))
	h := rg.v.Require("read")(okHandler)
	if w := do(h, "Bearer tok"); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if w := do(h, ""); w.Code != 401 {
		t.Fatalf("no token: status %d", w.Code)
	}
	defer func() {
		if recover() == nil {
			t.Error("Require with an invalid scope did not panic")
		}
	}()
	rg.v.Require("bad scope")
}

func TestTokenPlaces(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name   string
		opts   []Option
		method string
		query  string
		form   string
		authz  string
		status int
	}{
		{"query off by default", nil, "GET", "access_token=tok", "", "", 401},
		{"query on", []Option{WithTokenFromQuery()}, "GET", "access_token=tok", "", "", 200},
		{"query twice", []Option{WithTokenFromQuery()}, "GET", "access_token=tok&access_token=tok", "", "", 400},
		{"query bad chars", []Option{WithTokenFromQuery()}, "GET", "access_token=a%20b", "", "", 400},
		{"query and header", []Option{WithTokenFromQuery()}, "GET", "access_token=tok", "", "Bearer tok", 400},
		{"form off by default", nil, "POST", "", "access_token=tok", "", 401},
		{"form on", []Option{WithTokenFromForm()}, "POST", "", "access_token=tok", "", 200},
		{"form on GET ignored", []Option{WithTokenFromForm()}, "GET", "", "access_token=tok", "", 401},
		{"form and header", []Option{WithTokenFromForm()}, "POST", "", "access_token=tok", "Bearer tok", 400},
		{"form and query", []Option{WithTokenFromForm(), WithTokenFromQuery()}, "POST", "access_token=tok", "access_token=tok", "", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, tc.opts...)
			rg.fake.Register("tok", active("read", exp))
			r := httptest.NewRequest(tc.method, "/items/?"+tc.query, strings.NewReader(tc.form))
			if tc.form != "" {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			w := httptest.NewRecorder()
			rg.v.Handler(okHandler).ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
		})
	}
}

func TestUnavailableAnswers503(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *rig)
		opts  []Option
	}{
		{"500", func(r *rig) { r.fake.Fail(500, "") }, nil},
		{"502", func(r *rig) { r.fake.Fail(502, "") }, nil},
		{"auth server rejects our credentials", func(r *rig) { r.fake.RequireClientCredentials("rs-id", "other") },
			[]Option{WithClientCredentials("rs-id", "rs-secret")}},
		{"timeout", func(r *rig) { r.fake.SetDelay(2 * time.Second) }, []Option{WithTimeout(50 * time.Millisecond)}},
		{"down", func(r *rig) { r.fake.Close() }, nil},
		{"not JSON", func(r *rig) { r.fake.RegisterRaw("tok", "<html>") }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, tc.opts...)
			rg.fake.Register("tok", active("read", time.Now().Add(time.Hour)))
			tc.setup(rg)
			w := do(rg.v.Handler(okHandler), "Bearer tok")
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503", w.Code)
			}
			if ra := w.Header().Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After %q, want 1", ra)
			}
			if rg.n.errs.Load() == 0 {
				t.Error("OnError not called")
			}
		})
	}
}

func TestRequestIDPropagation(t *testing.T) {
	rg := newRig(t, WithRequestIDHeader("x-request-id"))
	rg.fake.Register("tok", active("read", time.Now().Add(time.Hour)))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer tok")
	r.Header.Set("X-Request-ID", "req-123")
	rg.v.Handler(okHandler).ServeHTTP(httptest.NewRecorder(), r)
	if got := rg.fake.LastRequest().Header.Get("X-Request-ID"); got != "req-123" {
		t.Errorf("X-Request-ID at the auth server %q", got)
	}
}

func TestIntrospectionRequestShape(t *testing.T) {
	tests := []struct {
		name, id, secret, bearer, wantAuthz string
	}{
		{"basic, form-encoded halves", "rs id", "s:e+c/r%t", "", "Basic cnMraWQ6cyUzQWUlMkJjJTJGciUyNXQ="},
		{"bearer", "", "", "intro-tok", "Bearer intro-tok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.bearer != "" {
				opts = append(opts, WithBearerToken(tc.bearer))
			} else {
				opts = append(opts, WithClientCredentials(tc.id, tc.secret))
			}
			rg := newRig(t, opts...)
			if tc.bearer != "" {
				rg.fake.RequireBearer(tc.bearer)
			} else {
				rg.fake.RequireClientCredentials(tc.id, tc.secret)
			}
			rg.fake.Register("a+b/c=", active("read", time.Now().Add(time.Hour)))
			if _, err := rg.v.Verify(bg(), "a+b/c="); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			last := rg.fake.LastRequest()
			if got := last.Header.Get("Authorization"); got != tc.wantAuthz {
				t.Errorf("Authorization %q, want %q", got, tc.wantAuthz)
			}
			want := url.Values{"token": {"a+b/c="}, "token_type_hint": {"access_token"}}
			if last.Form.Encode() != want.Encode() {
				t.Errorf("form %v, want %v", last.Form, want)
			}
			if ct := last.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q", ct)
			}
			if a := last.Header.Get("Accept"); a != "application/json" {
				t.Errorf("Accept %q", a)
			}
		})
	}
}
