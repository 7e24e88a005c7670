package middleware

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// Handler authenticates every request before next: it takes the bearer
// token (RFC 6750 §2), verifies it, checks WithRequiredScopes, and puts the
// Identity in the request's context (see FromContext). Failures get the
// RFC 6750 §3 answers: 400 invalid_request, 401 (with error="invalid_token"
// unless no token was sent), 403 insufficient_scope, and 503 with
// Retry-After when the auth server cannot answer (fail closed). Bodies are
// JSON {"detail": "..."}.
func (v *Verifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r, ok := v.authenticate(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// Require returns middleware that lets a request through only if its token
// has all of scopes. Behind Handler it reuses the Identity already in the
// context; on its own it authenticates first, exactly as Handler does, so
// it is safe either way. It panics if a scope is not a valid scope token,
// like regexp.MustCompile, since that is a programming error.
func (v *Verifier) Require(scopes ...string) func(http.Handler) http.Handler {
	guard := v.Guard(scopes...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r, ok := guard(w, r); ok {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// Guard is the check behind Require, for adapters to other routers: it
// authenticates r unless an Identity is already in its context, then checks
// scopes. On success it returns the request to pass on (carrying the
// Identity); on failure it has written the error response and returns false.
// It panics on an invalid scope token.
func (v *Verifier) Guard(scopes ...string) func(http.ResponseWriter, *http.Request) (*http.Request, bool) {
	var want scope.Set
	for _, s := range scopes {
		if set, err := scope.Parse(s); err != nil || len(set) != 1 {
			panic("middleware: Guard: invalid scope " + strconv.Quote(s))
		}
		if !want.Has(s) {
			want = append(want, s)
		}
	}
	challenge := scopeChallenge(`Bearer realm="`+v.cfg.realm+`"`, want)
	return func(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
		id, ok := r.Context().Value(identityKey{}).(*Identity)
		if !ok || id == nil {
			if r, ok = v.authenticate(w, r); !ok {
				return r, false
			}
			id = r.Context().Value(identityKey{}).(*Identity)
		}
		if !id.Scopes.HasAll(want) {
			v.writeError(w, http.StatusForbidden, challenge, "You do not have permission to perform this action.")
			return r, false
		}
		return r, true
	}
}

// Authenticate is Handler's step for adapters to other routers: on success
// it returns r with the Identity in its context; on failure it has written
// the error response and returns false.
func (v *Verifier) Authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	return v.authenticate(w, r)
}

func (v *Verifier) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	tok, err := v.tokenFrom(r)
	if err != nil {
		v.writeError(w, http.StatusBadRequest, v.chBadRequest, err.Error())
		return r, false
	}
	if tok == "" {
		v.writeError(w, http.StatusUnauthorized, v.chMissing, "Authentication credentials were not provided.")
		return r, false
	}
	ctx := r.Context()
	if v.cfg.requestIDHeader != "" {
		if rid := r.Header.Get(v.cfg.requestIDHeader); rid != "" && len(rid) <= 128 && quotable(rid) {
			ctx = withRequestID(ctx, rid)
		}
	}
	e, err := v.lookup(ctx, tok)
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidToken):
		v.writeError(w, http.StatusUnauthorized, v.chInvalid, "The access token is invalid.")
		return r, false
	default:
		secs := int64((v.retryAfter(err) + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		v.writeError(w, http.StatusServiceUnavailable, "", "Authentication service unavailable.")
		return r, false
	}
	if !e.id.Scopes.HasAll(v.required) {
		v.writeError(w, http.StatusForbidden, v.chScope, "You do not have permission to perform this action.")
		return r, false
	}
	return r.WithContext(withIdentity(r.Context(), &e.id)), true
}

// badRequest is the detail of a 400; its text goes to the client.
type badRequest string

func (e badRequest) Error() string { return string(e) }

const (
	errManyHeaders  = badRequest("More than one Authorization header.")
	errNoToken      = badRequest("Bearer scheme without a token.")
	errBadToken     = badRequest("Malformed bearer token.")
	errManyPlaces   = badRequest("The access token was sent more than once.")
	errBadForm      = badRequest("Malformed form body.")
	errManyFormToks = badRequest("More than one access_token parameter.")
)

// tokenFrom finds the bearer token of r: "" with a nil error means none.
func (v *Verifier) tokenFrom(r *http.Request) (string, error) {
	tok, err := parseAuthorization(r.Header.Values("Authorization"))
	if err != nil {
		return "", err
	}
	n := 0
	if tok != "" {
		n++
	}
	if v.cfg.fromForm && r.Method != http.MethodGet && r.Body != nil && r.Body != http.NoBody {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				return "", errBadForm
			}
			t, err := single(r.PostForm["access_token"])
			if err != nil {
				return "", err
			}
			if t != "" {
				tok, n = t, n+1
			}
		}
	}
	if v.cfg.fromQuery && strings.Contains(r.URL.RawQuery, "access_token") {
		t, err := single(r.URL.Query()["access_token"])
		if err != nil {
			return "", err
		}
		if t != "" {
			tok, n = t, n+1
		}
	}
	if n > 1 {
		return "", errManyPlaces
	}
	return tok, nil
}

func single(vals []string) (string, error) {
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", errManyFormToks
	case !isB64Token(vals[0]):
		return "", errBadToken
	}
	return vals[0], nil
}

// parseAuthorization reads RFC 6750 §2.1 credentials from the values of
// the Authorization header: "Bearer" (any case), one or more spaces, one
// b64token. A header with another scheme yields no token and no error.
func parseAuthorization(vals []string) (string, error) {
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errManyHeaders
	}
	h := vals[0]
	const scheme = "Bearer"
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", nil
	}
	rest := h[len(scheme):]
	if rest == "" {
		return "", errNoToken
	}
	if rest[0] != ' ' {
		if rest[0] == '\t' {
			return "", errBadToken
		}
		return "", nil // another scheme, such as "Bearerish"
	}
	rest = strings.TrimLeft(rest, " ")
	if rest == "" {
		return "", errNoToken
	}
	if !isB64Token(rest) {
		return "", errBadToken
	}
	return rest, nil
}

// isB64Token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

func (v *Verifier) writeError(w http.ResponseWriter, status int, challenge, detail string) {
	h := w.Header()
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"detail":` + strconv.Quote(detail) + "}"))
}
