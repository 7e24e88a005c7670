package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/bff"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/items"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/testenv"
)

type fakePinger struct{ err error }

func (f fakePinger) PingContext(context.Context) error { return f.err }

func newHandler(t *testing.T, ping Pinger, opts ...middleware.Option) http.Handler {
	t.Helper()
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	return newHandlerFor(t, fake, ping, opts...)
}

// newHandlerFor builds the handler against the fake introspection server,
// which demands rs-id/rs-secret.
func newHandlerFor(t *testing.T, fake *introspecttest.Server, ping Pinger, opts ...middleware.Option) http.Handler {
	t.Helper()
	fake.RequireClientCredentials("rs-id", "rs-secret")
	v, err := middleware.New(fake.URL, append([]middleware.Option{
		middleware.WithClientCredentials("rs-id", "rs-secret"), middleware.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bff.New(bff.Config{AuthServerURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	log := slog.New(slog.DiscardHandler)
	return New(Deps{Verifier: v, Items: items.NewHandler(items.NewSQLStore(db), log), BFF: p, DB: ping, Logger: log})
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		ping         error
		method, path string
		status       int
		body         string
	}{
		{"liveness", nil, "GET", "/healthz", 200, `{"status":"ok"}`},
		{"readiness up", nil, "GET", "/readyz", 200, `{"status":"ok","checks":{"database":"ok","introspection":"ok"},"warnings":[]}`},
		{"readiness down", errors.New("db gone"), "GET", "/readyz", 503, `{"status":"unavailable","checks":{"database":"unavailable","introspection":"ok"},"warnings":[]}`},
		{"unknown path", nil, "GET", "/nope/", 404, `{"detail":"Not found."}`},
		{"wrong method", nil, "GET", "/users/signup/", 405, `{"detail":"Method \"GET\" not allowed."}`},
		{"items need a token", nil, "GET", "/items/", 401, ""},
		{"items without slash, no redirect", nil, "GET", "/items", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHandler(t, fakePinger{tt.ping})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			body, _ := io.ReadAll(w.Body)
			if w.Code != tt.status || (tt.body != "" && string(body) != tt.body) {
				t.Fatalf("got %d %s, want %d %s", w.Code, body, tt.status, tt.body)
			}
			for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
				if w.Header().Get(k) != v {
					t.Fatalf("%s = %q", k, w.Header().Get(k))
				}
			}
			if len(w.Header().Get("X-Request-ID")) != 32 {
				t.Fatalf("X-Request-ID %q", w.Header().Get("X-Request-ID"))
			}
		})
	}
}

// TestReadinessFailsWhileCredentialsAreRejected: /readyz said 200 while
// every /items/ request got 503 for a wrong introspection secret (issue
// 12, item 9). An auth server that does not answer keeps the replica ready.
func TestReadinessFailsWhileCredentialsAreRejected(t *testing.T) {
	t.Parallel()
	get := func(h http.Handler, path string) (int, string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer some-token")
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	wrong := newHandler(t, fakePinger{}, middleware.WithClientCredentials("rs-id", "wrong-secret"))
	if code, _ := get(wrong, "/items/"); code != 503 {
		t.Fatalf("items with rejected credentials: %d, want 503", code)
	}
	want := `{"status":"unavailable","checks":{"database":"ok","introspection":"unavailable"},"warnings":["` + warnCredentials + `"]}`
	if code, body := get(wrong, "/readyz"); code != 503 || body != want {
		t.Fatalf("readyz with rejected credentials: %d %s\nwant 503 %s", code, body, want)
	}

	down := introspecttest.NewServer()
	t.Cleanup(down.Close)
	down.Fail(http.StatusBadGateway, "")
	nowhere := newHandlerFor(t, down, fakePinger{})
	want = `{"status":"ok","checks":{"database":"ok","introspection":"unknown"},"warnings":["` + warnNoAnswer + `"]}`
	if code, body := get(nowhere, "/readyz"); code != 200 || body != want {
		t.Fatalf("readyz with the auth server failing: %d %s\nwant 200 %s", code, body, want)
	}
}

func TestPanicIsA500(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(recovery(slog.New(slog.DiscardHandler)))
	r.GET("/boom", func(*gin.Context) { panic("boom") })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != 500 || w.Body.String() != `{"detail":"A server error occurred."}` {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}
