package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
)

// signup is POST /users/signup/: 201 {"email": …}, or 400 in DRF's shape.
func (h *handlers) signup(c *gin.Context) {
	f, fe, err := readFields(c, "email", "password", "password2")
	if writeBodyError(c, err) {
		return
	}
	in := accounts.SignupInput{Email: f["email"], Password: f["password"], Password2: f["password2"]}
	if len(fe) > 0 {
		c.JSON(http.StatusBadRequest, fe)
		return
	}
	u, err := h.d.Accounts.Signup(c.Request.Context(), in)
	if h.writeAccountError(c, err) {
		return
	}
	c.JSON(http.StatusCreated, gin.H{"email": u.Email})
}

// writeAccountError answers err: FieldErrors as 400, anything else as a
// logged 503 (the database is the only thing that can fail here).
func (h *handlers) writeAccountError(c *gin.Context, err error) bool {
	if err == nil {
		return false
	}
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		c.JSON(http.StatusBadRequest, fe)
		return true
	}
	h.d.Log.ErrorContext(c.Request.Context(), "account operation failed", "request_id", RequestIDFromContext(c.Request.Context()), "error", err)
	c.Header("Retry-After", "5")
	c.JSON(http.StatusServiceUnavailable, gin.H{"detail": "Service temporarily unavailable, try again later."})
	return true
}
