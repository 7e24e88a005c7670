package requestid

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestMiddleware(t *testing.T) {
	gin.SetMode(gin.TestMode)
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{"reuses a sane id", "abc-123", true},
		{"generates when absent", "", false},
		{"replaces one with spaces", "a b", false},
		{"replaces one too long", strings.Repeat("x", 129), false},
		{"keeps one of 128", strings.Repeat("x", 128), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			r.Use(Middleware())
			var inCtx, inHeader string
			r.GET("/", func(c *gin.Context) {
				inCtx = FromContext(c.Request.Context())
				inHeader = c.Request.Header.Get(Header)
			})
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.incoming != "" {
				req.Header.Set(Header, tt.incoming)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			got := w.Header().Get(Header)
			if tt.keep && got != tt.incoming {
				t.Fatalf("response id = %q, want %q", got, tt.incoming)
			}
			if !tt.keep && (got == tt.incoming || len(got) != 32) {
				t.Fatalf("response id = %q, want a fresh 32-hex id", got)
			}
			if inCtx != got || inHeader != got {
				t.Fatalf("context %q / request header %q, want %q", inCtx, inHeader, got)
			}
		})
	}
}
