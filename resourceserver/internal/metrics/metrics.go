// Package metrics holds the resource server's Prometheus metrics: request
// latency by route and status, and the introspection middleware's cache
// hits, misses, coalesced calls, errors, stale answers and evictions. They
// are served on /metrics from the package's own registry.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis-oauth/portcullis/middleware"
)

// Metrics is the set of collectors. Safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	cache    *prometheus.CounterVec
}

// New registers every collector, plus Go runtime and process metrics.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_http_request_duration_seconds",
			Help:    "HTTP request latency by route template, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_introspection_cache_events_total",
			Help: "Introspection middleware events: hit, miss, coalesced, error, stale, evict.",
		}, []string{"event"}),
	}
	m.reg.MustRegister(m.requests, m.cache,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// StatusClientClosedRequest is nginx's 499: the client hung up before the
// answer was written. No answer is sent with it; it only labels the
// request in logs and metrics, so a hung-up client is not a server error.
const StatusClientClosedRequest = 499

// Status is the status to log and count for c's request once the handlers
// have run: StatusClientClosedRequest when the client went away (its
// request's context cancelled), else the status written.
func Status(c *gin.Context) int {
	if errors.Is(c.Request.Context().Err(), context.Canceled) {
		return StatusClientClosedRequest
	}
	return c.Writer.Status()
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Middleware times every request under its route template.
func (m *Metrics) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(Status(c))).Observe(time.Since(start).Seconds())
	}
}

// Hooks counts the middleware's cache events. The counters are resolved
// once, so a hook costs one atomic add on the hot path.
func (m *Metrics) Hooks() middleware.Hooks {
	inc := func(event string) func() { return m.cache.WithLabelValues(event).Inc }
	return middleware.Hooks{
		OnHit: inc("hit"), OnMiss: inc("miss"), OnCoalesced: inc("coalesced"),
		OnError: inc("error"), OnStale: inc("stale"), OnEvict: inc("evict"),
	}
}
