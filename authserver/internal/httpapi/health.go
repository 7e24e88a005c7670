package httpapi

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// Warner is a readiness check (a Pinger) that also knows of risks that do
// not make the server unready, such as a Redis without persistence.
// Warnings is called after Ping and returns fixed sentences, never an
// error's text.
type Warner interface {
	Warnings() []string
}

// healthz is liveness: the process serves HTTP.
func (h *handlers) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz is readiness: every dependency answers within 2 s. The body is
// wire.Readiness, the same as the resource server's: each dependency is
// "ok" or "unavailable" (never the error text), plus the warnings of the
// checks that are Warners.
func (h *handlers) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	rd := wire.NewReadiness()
	for _, n := range slices.Sorted(maps.Keys(h.d.Ready)) {
		p := h.d.Ready[n]
		if err := p.Ping(ctx); err != nil {
			h.d.Log.WarnContext(ctx, "readiness check failed", "dependency", n, "error", err)
			rd.Set(n, wire.CheckUnavailable)
		} else {
			rd.Set(n, wire.CheckOK)
		}
		if w, ok := p.(Warner); ok {
			for _, msg := range w.Warnings() {
				rd.Warn(msg)
			}
		}
	}
	c.JSON(rd.HTTPStatus(), rd)
}
