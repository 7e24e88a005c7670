package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// fuzzPaths are the endpoints FuzzHTTPHandlers aims at, API and pages.
var fuzzPaths = []string{
	"/o/token/", "/o/introspect/", "/o/revoke_token/", "/o/authorize/", "/login/", "/users/signup/",
	"/users/password/", "/.well-known/oauth-authorization-server", "/o/applications/register/", "/admin/users/",
	"/logout/", "/o/token", "/login", "/o/authorize",
}

var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodHead}

// FuzzHTTPHandlers sends arbitrary requests to the whole engine (API and
// pages) on PostgreSQL and Redis when TEST_DATABASE_URL and TEST_REDIS_URL
// are set (SQLite and miniredis otherwise): while the backends are
// healthy, no input gets a 5xx. In a query, body or Authorization value,
// "CSRF" becomes the pre-login form token (its cookie is always sent),
// "BASIC" the password client's Basic credentials, and "BEARER" a live
// access token, so that inputs get past those checks to the lookups.
// Seed corpus: testdata/fuzz/FuzzHTTPHandlers.
func FuzzHTTPHandlers(f *testing.F) {
	// SQLite when TEST_DATABASE_URL is unset (a fuzz target has no
	// subtests to report the PostgreSQL run as skipped).
	dbURL := testenv.SQLiteURL(f)
	if os.Getenv("TEST_DATABASE_URL") != "" {
		dbURL = testenv.PostgresURL(f)
	}
	var rdb redis.UniversalClient
	var prefix string
	if os.Getenv("TEST_REDIS_URL") != "" || servicetest.InCI() {
		rdb, prefix = testenv.Redis(f)
	}
	s := newSite(f, dbURL, rdb, prefix)
	s.passwordClient(f)
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.engine.ServeHTTP(w, r)
		return w
	}
	get := serve(httptest.NewRequest(http.MethodGet, "/login/", nil))
	csrfCk, token := cookieFrom(get.Result(), "pc_csrf"), csrfRE.FindStringSubmatch(get.Body.String())
	if csrfCk == "" || token == nil {
		f.Fatal("no pre-login CSRF cookie or token")
	}
	iss, err := s.tokens.Issue(context.Background(), tokens.Grant{ClientID: "pw-id", UserID: s.user.ID, Username: s.user.Email, Scope: "read write introspection"}, false)
	if err != nil {
		f.Fatal(err)
	}
	fill := strings.NewReplacer("CSRF", url.QueryEscape(token[1]), "BASIC", "Basic "+base64.StdEncoding.EncodeToString([]byte("pw-id:pw-secret")),
		"BEARER", "Bearer "+iss.AccessToken)
	f.Add(uint8(0), uint8(1), "", "application/x-www-form-urlencoded", []byte("grant_type=password&username=user1%00%40email.com&password=x"), "BASIC")
	f.Fuzz(func(t *testing.T, path, method uint8, query, ctype string, body []byte, authz string) {
		p := fuzzPaths[int(path)%len(fuzzPaths)]
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		b := []byte(fill.Replace(string(body)))
		r := (&http.Request{
			Method: m, URL: &url.URL{Path: p, RawQuery: fill.Replace(query)}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Host: "example.com",
			RemoteAddr: "192.0.2.1:1234", RequestURI: p,
		}).WithContext(context.Background())
		r.Header.Set("Content-Type", ctype)
		if authz != "" {
			r.Header.Set("Authorization", fill.Replace(authz))
		}
		r.AddCookie(&http.Cookie{Name: "pc_csrf", Value: csrfCk})
		if w := serve(r); w.Code >= 500 {
			t.Fatalf("%s %s?%q (%q, %q): %d %s", m, p, query, ctype, b, w.Code, w.Body)
		}
	})
}
