package httpapi

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz is liveness: the process serves HTTP.
func (h *handlers) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz is readiness: every dependency answers within 2 s. It reports
// each one as "ok" or "unavailable", never the error text.
func (h *handlers) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	names := make([]string, 0, len(h.d.Ready))
	for n := range h.d.Ready {
		names = append(names, n)
	}
	sort.Strings(names)
	status, checks := http.StatusOK, gin.H{}
	for _, n := range names {
		if err := h.d.Ready[n].Ping(ctx); err != nil {
			h.d.Log.WarnContext(ctx, "readiness check failed", "dependency", n, "error", err)
			checks[n] = "unavailable"
			status = http.StatusServiceUnavailable
			continue
		}
		checks[n] = "ok"
	}
	word := "ok"
	if status != http.StatusOK {
		word = "unavailable"
	}
	c.JSON(status, gin.H{"status": word, "checks": checks})
}
