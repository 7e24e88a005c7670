// Package metrics holds the auth server's Prometheus metrics: request
// latency by route and status, tokens issued by grant, introspections,
// revocations and throttled logins. It exposes them on /metrics through its
// own registry, so tests can build as many servers as they like.
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
)

// Metrics is the set of collectors. Safe for concurrent use; a nil
// *Metrics records nothing.
type Metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.HistogramVec
	issued         *prometheus.CounterVec
	introspections *prometheus.CounterVec
	revocations    *prometheus.CounterVec
	throttled      prometheus.Counter
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
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_tokens_issued_total", Help: "Access tokens issued, by grant type.",
		}, []string{"grant"}),
		introspections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_introspections_total", Help: "Introspection answers, by result (active or inactive).",
		}, []string{"result"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_revocations_total", Help: "Revocations, by reason.",
		}, []string{"reason"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_logins_throttled_total", Help: "Password logins refused with 429 by the throttle.",
		}),
	}
	m.reg.MustRegister(m.requests, m.issued, m.introspections, m.revocations, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
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

// Middleware times every request under its route template (never the raw
// path, which would grow without bound).
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

// Issued counts an access token issued by grant.
func (m *Metrics) Issued(grant string) {
	if m != nil {
		m.issued.WithLabelValues(grant).Inc()
	}
}

// Introspected counts an introspection answer.
func (m *Metrics) Introspected(active bool) {
	if m == nil {
		return
	}
	r := "inactive"
	if active {
		r = "active"
	}
	m.introspections.WithLabelValues(r).Inc()
}

// Revoked counts a revocation by reason (revoke, rotation, replay,
// password_change, …); tokens.Store.ObserveRevocations calls it.
func (m *Metrics) Revoked(reason string) {
	if m != nil {
		m.revocations.WithLabelValues(reason).Inc()
	}
}

// Throttled counts a login refused by the throttle.
func (m *Metrics) Throttled() {
	if m != nil {
		m.throttled.Inc()
	}
}
