package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestMetricsAreExposed(t *testing.T) {
	m := New()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(m.Middleware())
	r.GET("/items/:id", func(c *gin.Context) { c.Status(204) })
	r.GET("/metrics", gin.WrapH(m.Handler()))
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/42", nil))
	m.Issued("password")
	m.Introspected(true)
	m.Introspected(false)
	m.Revoked("revoke")
	m.Throttled()

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatal(w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`portcullis_http_request_duration_seconds_count{method="GET",route="/items/:id",status="204"} 1`,
		`portcullis_tokens_issued_total{grant="password"} 1`,
		`portcullis_introspections_total{result="active"} 1`,
		`portcullis_introspections_total{result="inactive"} 1`,
		`portcullis_revocations_total{reason="revoke"} 1`,
		`portcullis_logins_throttled_total 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, `route="/items/42"`) {
		t.Error("a raw path became a label")
	}
}

// TestNilMetricsRecordNothing: a nil *Metrics (metrics off) is a valid
// recorder: every method returns without panicking and without allocating,
// so it does no work on the request path.
func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	for _, tc := range []struct {
		name   string
		record func()
	}{
		{"Issued", func() { m.Issued("password") }},
		{"Introspected", func() { m.Introspected(true) }},
		{"Revoked", func() { m.Revoked("revoke") }},
		{"Throttled", func() { m.Throttled() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%s on a nil *Metrics panicked: %v", tc.name, r)
				}
			}()
			if n := testing.AllocsPerRun(10, tc.record); n != 0 {
				t.Fatalf("%s on a nil *Metrics allocated %v times per call, want 0", tc.name, n)
			}
		})
	}
}
