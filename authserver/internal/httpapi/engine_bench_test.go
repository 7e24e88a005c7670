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
// Introspection is answered from the token cache, as most are; the
// client_credentials issue writes to Redis. `make bench` measures the same
// requests over HTTP against a bare handler; this shows where the
// process's own time and allocations go.
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
	introspect := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/o/introspect/", strings.NewReader("token="+iss.AccessToken))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(raceClient, raceSecret)
		w := httptest.NewRecorder()
		engine.ServeHTTP(w, req)
		return w
	}
	// The cache takes answers once the subscription is confirmed: then an
	// introspection runs no lookup script.
	lookups := func() string {
		info, _ := s.rdb.Info(ctx, "commandstats").Result()
		_, after, _ := strings.Cut(info, "cmdstat_evalsha_ro:")
		calls, _, _ := strings.Cut(after, ",")
		return calls
	}
	servicetest.Eventually(b, 5*time.Second, "the token cache to answer", func() bool {
		introspect()
		before := lookups()
		w := introspect()
		return w.Code == http.StatusOK && lookups() == before
	})
	for _, tt := range []struct{ name, path, body string }{
		{"introspect", "/o/introspect/", url.Values{"token": {iss.AccessToken}}.Encode()},
		{"token-rejected", "/o/token/", url.Values{"grant_type": {"client_credentials"}}.Encode()},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(raceClient, raceSecret)
				w := httptest.NewRecorder()
				engine.ServeHTTP(w, req)
				if w.Code != http.StatusOK && tt.name == "introspect" || !strings.Contains(w.Body.String(), "active") && tt.name == "introspect" {
					b.Fatalf("%s: %d %s", tt.path, w.Code, w.Body)
				}
			}
		})
	}
}
