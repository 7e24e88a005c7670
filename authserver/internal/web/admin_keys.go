package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// adminKeys shows the OpenID Connect signing keys, read-only, as
// `authserver keys list` does: kid, algorithm, created, state.
func (h *Handler) adminKeys(c *gin.Context) {
	ls, err := h.d.Keys.List(c.Request.Context())
	if err != nil {
		h.unavailable(c, err)
		return
	}
	h.render(c, http.StatusOK, "admin_keys", gin.H{"Title": "Signing keys", "Keys": ls})
}
