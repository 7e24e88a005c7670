package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/gin-gonic/gin"
)

// Header is the header the ID travels in.
const Header = "X-Request-ID"

// maxLen bounds an accepted incoming ID.
const maxLen = 128

type key struct{}

// FromContext returns the request's ID, or "".
func FromContext(ctx context.Context) string {
	s, _ := ctx.Value(key{}).(string)
	return s
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// Middleware is the Gin handler that assigns the ID. Put it first.
func Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(Header)
		if !Valid(id) {
			id = New()
			c.Request.Header.Set(Header, id)
		}
		c.Request = c.Request.WithContext(With(c.Request.Context(), id))
		c.Header(Header, id)
		c.Next()
	}
}

// Valid reports whether an incoming ID may be reused: 1 to 128 visible
// ASCII characters, so it cannot break a header or a log line.
func Valid(id string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// New returns a random 128-bit ID in hex.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
