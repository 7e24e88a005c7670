package metrics

import (
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
	r.GET("/items/:id/", func(c *gin.Context) { c.Status(200) })
	r.GET("/metrics", gin.WrapH(m.Handler()))
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/7/", nil))
	h := m.Hooks()
	h.OnHit()
	h.OnHit()
	h.OnMiss()
	h.OnCoalesced()

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{
		`portcullis_http_request_duration_seconds_count{method="GET",route="/items/:id/",status="200"} 1`,
		`portcullis_introspection_cache_events_total{event="hit"} 2`,
		`portcullis_introspection_cache_events_total{event="miss"} 1`,
		`portcullis_introspection_cache_events_total{event="coalesced"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
