package wire

import "net/http"

// Results of one readiness check.
const (
	CheckOK          = "ok"          // the dependency works
	CheckUnavailable = "unavailable" // it does not: the service is not ready
	CheckUnknown     = "unknown"     // it could not be told; the service stays ready, a warning says why
)

// Readiness is the body of both services' GET /readyz. Status is "ok"
// (HTTP 200) unless a check is "unavailable" (then "unavailable", 503).
// Checks maps each dependency ("database", "redis", "introspection") to a
// Check* result. Warnings are fixed sentences about risks that do not make
// the service unready (a Redis without persistence, say); they never hold
// an error's text. Warnings is [] rather than null when there are none, so
// that every answer has the same fields.
type Readiness struct {
	Status   string            `json:"status"`
	Checks   map[string]string `json:"checks"`
	Warnings []string          `json:"warnings"`
}

// NewReadiness returns a ready body with no checks and no warnings.
func NewReadiness() Readiness {
	return Readiness{Status: CheckOK, Checks: map[string]string{}, Warnings: []string{}}
}

// Set records the result of the check named name; CheckUnavailable makes
// the service unready.
func (r *Readiness) Set(name, result string) {
	r.Checks[name] = result
	if result == CheckUnavailable {
		r.Status = CheckUnavailable
	}
}

// Warn adds a warning.
func (r *Readiness) Warn(msg string) { r.Warnings = append(r.Warnings, msg) }

// HTTPStatus is 200 when ready, else 503.
func (r Readiness) HTTPStatus() int {
	if r.Status == CheckOK {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}
