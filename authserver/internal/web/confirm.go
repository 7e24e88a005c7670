package web

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// confirmation is the page asked before a destructive action: what it
// acts on, what will happen, and a form that posts to Action (carrying
// Hidden along) or a way Back.
type confirmation struct {
	Title, Question string
	Crumbs          []crumb
	Effects         []string
	Action, Back    string
	Button          string
	Hidden          []hiddenField
}

type hiddenField struct{ Name, Value string }

func (h *Handler) confirm(c *gin.Context, cf confirmation) {
	h.render(c, http.StatusOK, "confirm", gin.H{"Title": cf.Title, "Crumbs": cf.Crumbs, "Confirm": cf})
}

// pluralize is "1 member", "2 members".
func pluralize(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
