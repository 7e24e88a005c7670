package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Engine is the Gin engine with the two things Gin's router does not do,
// done once for every route instead of at each registration: HEAD is
// answered wherever GET is (RFC 9110 §9.3.2), and every path works with
// and without its trailing slash, served in place, never redirected (a
// redirected POST loses its body). Safe for concurrent use once built.
type Engine struct {
	*gin.Engine
	routes routeTable
}

// ServeHTTP maps the request onto a registered route, then lets Gin
// route it.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !e.routes.has(anyMethod, r.URL.Path) {
		if alt, ok := toggleSlash(r.URL.Path); ok && e.routes.has(anyMethod, alt) {
			r = r.Clone(r.Context())
			r.URL.Path = alt
			if r.URL.RawPath != "" {
				r.URL.RawPath, _ = toggleSlash(r.URL.RawPath)
			}
		}
	}
	if r.Method == http.MethodHead && e.routes.has(http.MethodGet, r.URL.Path) {
		r = r.Clone(r.Context())
		r.Method = http.MethodGet
		w = headWriter{w}
	}
	e.Engine.ServeHTTP(w, r)
}

// toggleSlash adds or removes a path's trailing slash; ok is false for "/".
func toggleSlash(p string) (string, bool) {
	switch {
	case p == "/" || p == "":
		return "", false
	case strings.HasSuffix(p, "/"):
		return p[:len(p)-1], true
	}
	return p + "/", true
}

// headWriter answers HEAD with GET's status and headers, and no body.
type headWriter struct{ http.ResponseWriter }

func (h headWriter) Write(p []byte) (int, error) { return len(p), nil }

// routeTable knows which paths have a route, per method: static paths in a
// set (one lookup for the hot endpoints), and patterns with :params or
// *wildcards split into segments.
type routeTable struct {
	static   map[string]map[string]bool
	patterns map[string][][]string
}

// anyMethod is the routeTable key of the paths of every method.
const anyMethod = ""

func newRouteTable(routes gin.RoutesInfo) routeTable {
	t := routeTable{static: map[string]map[string]bool{}, patterns: map[string][][]string{}}
	for _, r := range routes {
		for _, m := range []string{r.Method, anyMethod} {
			if !strings.ContainsAny(r.Path, ":*") {
				if t.static[m] == nil {
					t.static[m] = map[string]bool{}
				}
				t.static[m][r.Path] = true
				continue
			}
			t.patterns[m] = append(t.patterns[m], strings.Split(r.Path, "/"))
		}
	}
	return t
}

func (t routeTable) has(method, path string) bool {
	if t.static[method][path] {
		return true
	}
	var segs []string
	for _, p := range t.patterns[method] {
		if segs == nil {
			segs = strings.Split(path, "/")
		}
		if matchSegments(p, segs) {
			return true
		}
	}
	return false
}

// matchSegments matches a path's segments against a Gin pattern's: a
// ":name" segment matches any one non-empty segment, "*name" the rest.
func matchSegments(pattern, segs []string) bool {
	for i, seg := range pattern {
		if strings.HasPrefix(seg, "*") {
			return true
		}
		if i >= len(segs) {
			return false
		}
		switch {
		case strings.HasPrefix(seg, ":"):
			if segs[i] == "" {
				return false
			}
		case seg != segs[i]:
			return false
		}
	}
	return len(segs) == len(pattern)
}
