package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// BenchmarkEngine is the auth server's own work for one request, without
// a socket: the Gin engine with every middleware, client authentication
// (a generated secret), the form, the handler and the JSON answer.
// Introspection is answered from the token cache, as most are; the token
// request is refused (the client may not use client_credentials) after
// the same authentication and form, with no Redis write. `make bench`
// measures requests like these over HTTP against a bare handler; this
// shows where the process's own time and allocations go.
func BenchmarkEngine(b *testing.B) {
	s := newStack(b)
	ctx := testenv.Context(b)
	s.tokens.CacheAccessTokens(1000, time.Minute)
	watch, stop := context.WithCancel(ctx)
	b.Cleanup(stop)
	go s.tokens.WatchRevocations(watch, slog.New(slog.DiscardHandler))
	iss, err := s.tokens.Issue(ctx, grant.Grant{ClientID: raceClient, Scope: "read"}, false)
	if err != nil {
		b.Fatal(err)
	}
	engine := s.srv.Config.Handler
	post := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(raceClient, raceSecret)
		w := httptest.NewRecorder()
		engine.ServeHTTP(w, req)
		return w
	}
	introspection := url.Values{"token": {iss.AccessToken}}.Encode()
	// The cache takes answers once the subscription is confirmed: then an
	// introspection runs no lookup script.
	lookups := func() string {
		info, _ := s.rdb.Info(ctx, "commandstats").Result()
		_, after, _ := strings.Cut(info, "cmdstat_evalsha_ro:")
		calls, _, _ := strings.Cut(after, ",")
		return calls
	}
	servicetest.Eventually(b, 5*time.Second, "the token cache to answer", func() bool {
		post("/o/introspect/", introspection)
		before := lookups()
		w := post("/o/introspect/", introspection)
		return w.Code == http.StatusOK && lookups() == before
	})
	for _, tt := range []struct {
		name, path, body string
		status           int
		answer           string // in the body
	}{
		{"introspect", "/o/introspect/", introspection, http.StatusOK, `"active":true`},
		{"token-rejected", "/o/token/", url.Values{"grant_type": {"client_credentials"}}.Encode(), http.StatusBadRequest, `"unauthorized_client"`},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if w := post(tt.path, tt.body); w.Code != tt.status || !strings.Contains(w.Body.String(), tt.answer) {
					b.Fatalf("%s: %d %s", tt.path, w.Code, w.Body)
				}
			}
		})
	}
}
