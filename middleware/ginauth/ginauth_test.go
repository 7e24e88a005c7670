package ginauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

func TestGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	exp := time.Now().Add(time.Hour).Unix()
	fake.Register("reader", wire.Introspection{Scope: "read", Exp: exp, Username: "r@x"})
	fake.Register("writer", wire.Introspection{Scope: "read write", Exp: exp, Username: "w@x"})
	v, err := middleware.New(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	show := func(c *gin.Context) {
		id, ok := IdentityFrom(c)
		id2, ok2 := middleware.FromContext(c.Request.Context())
		if !ok || !ok2 || id.Username != id2.Username {
			c.String(http.StatusInternalServerError, "identity missing")
			return
		}
		c.String(http.StatusOK, id.Username)
	}
	api := r.Group("/items", New(v))
	api.GET("/", show)
	api.POST("/", RequireScopes(v, "write"), show)
	r.DELETE("/alone", RequireScopes(v, "write"), show) // no New in front

	tests := []struct {
		name, method, path, authz string
		status                    int
		body, challenge           string
	}{
		{"read ok", "GET", "/items/", "Bearer reader", 200, "r@x", ""},
		{"no token", "GET", "/items/", "", 401, "", `Bearer realm="api"`},
		{"bad token", "GET", "/items/", "Bearer nope", 401, "", `Bearer realm="api", error="invalid_token"`},
		{"malformed", "GET", "/items/", "Bearer a b", 400, "", `Bearer realm="api", error="invalid_request"`},
		{"write ok", "POST", "/items/", "Bearer writer", 200, "w@x", ""},
		{"write denied", "POST", "/items/", "Bearer reader", 403, "", `Bearer realm="api", error="insufficient_scope", scope="write"`},
		{"require alone ok", "DELETE", "/alone", "Bearer writer", 200, "w@x", ""},
		{"require alone no token", "DELETE", "/alone", "", 401, "", `Bearer realm="api"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.body != "" && w.Body.String() != tc.body {
				t.Errorf("body %q, want %q", w.Body, tc.body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
		})
	}
}
