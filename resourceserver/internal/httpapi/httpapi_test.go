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

func newHandler(t *testing.T, ping Pinger) http.Handler {
	t.Helper()
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	v, err := middleware.New(fake.URL)
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
		{"readiness up", nil, "GET", "/readyz", 200, `{"database":"up","status":"ok"}`},
		{"readiness down", errors.New("db gone"), "GET", "/readyz", 503, `{"database":"down","status":"unavailable"}`},
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
