package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// discoveryPath is where the RFC 8414 metadata is served
// (https://www.rfc-editor.org/rfc/rfc8414#section-3).
const discoveryPath = "/.well-known/oauth-authorization-server"

// home is the landing page at /: links to the browser pages and to the
// discovery document, so that a person who opens the server's address has
// somewhere to go.
func (h *Handler) home(c *gin.Context) {
	h.render(c, http.StatusOK, "home", gin.H{
		"Title":     "Portcullis",
		"Discovery": discoveryPath,
	})
}
