package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/metrics"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// TestHungUpClientIsA499: a client that hangs up while its request is
// still being served is logged and counted as 499, not as the 503 the
// handler then writes to nobody. Real HTTP, so the server itself cancels
// the request's context when the connection closes.
func TestHungUpClientIsA499(t *testing.T) {
	logs := &servicetest.Buffer{}
	m := metrics.New()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(accessLog(slog.New(slog.NewJSONHandler(logs, nil))), m.Middleware())
	entered := make(chan struct{})
	r.GET("/slow", func(c *gin.Context) {
		close(entered)
		<-c.Request.Context().Done()
		// What a store call cut short by the cancellation leads to.
		c.JSON(http.StatusServiceUnavailable, gin.H{"detail": "Service temporarily unavailable, try again later."})
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/slow", nil)
	servicetest.HangUp(t, srv.Client(), req, func() bool {
		select {
		case <-entered:
			return true
		default:
			return false
		}
	})
	servicetest.Eventually(t, 10*time.Second, "the request is logged", func() bool {
		return strings.Contains(logs.String(), `"path":"/slow"`)
	})
	if line := logs.String(); !strings.Contains(line, `"status":499`) {
		t.Fatalf("access log %q, want status 499", line)
	}
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := `portcullis_http_request_duration_seconds_count{method="GET",route="/slow",status="499"} 1`
	if !strings.Contains(w.Body.String(), want) {
		t.Fatalf("metrics lack %s", want)
	}
}
