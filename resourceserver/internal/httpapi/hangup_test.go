package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/bff"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/items"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/metrics"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// TestHungUpClientIsA499: a client that hangs up while its request waits
// (here on introspection) is logged and counted as 499, nginx's "client
// closed request", not as a server error. Real HTTP, so the request's
// context is cancelled by the server seeing the connection close.
func TestHungUpClientIsA499(t *testing.T) {
	t.Parallel()
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	fake.RequireClientCredentials("rs-id", "rs-secret")
	fake.Register("slow-token", wire.Introspection{Active: true, Scope: "read write", ClientID: "c", Username: "u@example.com", TokenType: "Bearer"})
	fake.SetDelay(time.Hour)
	v, err := middleware.New(fake.URL, middleware.WithClientCredentials("rs-id", "rs-secret"), middleware.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := bff.New(bff.Config{AuthServerURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &servicetest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	m := metrics.New()
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	srv := httptest.NewServer(New(Deps{Verifier: v, Items: items.NewHandler(items.NewSQLStore(db), log), BFF: p,
		DB: fakePinger{}, Logger: log, Metrics: m}))
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/items/", nil)
	req.Header.Set("Authorization", "Bearer slow-token")
	servicetest.HangUp(t, srv.Client(), req, func() bool { return fake.Calls() > 0 })

	servicetest.Eventually(t, 10*time.Second, "the request is logged", func() bool {
		return strings.Contains(logs.String(), `"path":"/items/"`)
	})
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"path":"/items/"`) {
			line = l
		}
	}
	if !strings.Contains(line, `"status":499`) || !strings.Contains(line, `"level":"INFO"`) {
		t.Fatalf("access log %q, want status 499 at INFO", line)
	}
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	if want := `portcullis_http_request_duration_seconds_count{method="GET",route="/items/",status="499"} 1`; !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %s:\n%s", want, grepLines(string(body), "request_duration_seconds_count"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
