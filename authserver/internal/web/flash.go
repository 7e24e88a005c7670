package web

import (
	"github.com/gin-gonic/gin"
)

// flash queues a one-time message for the signed-in user's next page,
// which announces it in its live region (Django's messages framework).
// Without a session (or when Redis fails) the message is dropped: it is a
// courtesy, and the change it reports is already made.
func (h *Handler) flash(c *gin.Context, msg string) {
	sid, ok := c.Get(keySID)
	if !ok {
		return
	}
	if err := h.d.Sessions.AddFlash(c.Request.Context(), sid.(string), msg); err != nil {
		h.d.Log.WarnContext(c.Request.Context(), "flash message lost", "error", err)
	}
}

// takeFlash returns the session's queued messages and forgets them.
func (h *Handler) takeFlash(c *gin.Context) []string {
	sid, ok := c.Get(keySID)
	if !ok {
		return nil
	}
	msgs, err := h.d.Sessions.TakeFlash(c.Request.Context(), sid.(string))
	if err != nil {
		h.d.Log.WarnContext(c.Request.Context(), "flash messages unread", "error", err)
	}
	return msgs
}
