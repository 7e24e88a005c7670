package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// maxBody bounds how much of an introspection answer is read.
const maxBody = 1 << 20

// maxRetryAfter caps a 429's Retry-After, so one odd header cannot lock the
// verifier out for days; defaultRetryAfter is used when it has none.
const (
	maxRetryAfter     = 60 * time.Second
	defaultRetryAfter = 1 * time.Second
)

// maxEpoch is 9999-12-31T23:59:59Z: later exp/iat values are clamped to it.
const maxEpoch = 253402300799

// answer is a parsed RFC 7662 §2.2 response.
type answer struct {
	reject error // nil if active; else errInactive or errBadClaims
	id     Identity
	hasExp bool
}

// introspect makes one RFC 7662 call. It returns an *unavailableError for
// anything that is not a 200 with a JSON object.
func (v *Verifier) introspect(ctx context.Context, token string) (answer, error) {
	body := "token=" + url.QueryEscape(token) + "&token_type_hint=access_token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint, strings.NewReader(body))
	if err != nil {
		return answer{}, unavailable("middleware: introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if v.authHeader != "" {
		req.Header.Set("Authorization", v.authHeader)
	}
	if v.cfg.requestIDHeader != "" {
		if rid, ok := ctx.Value(requestIDKey{}).(string); ok {
			req.Header.Set(v.cfg.requestIDHeader, rid)
		}
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return answer{}, unavailable("middleware: introspect: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusTooManyRequests:
		d := parseRetryAfter(resp.Header.Get("Retry-After"), v.now())
		v.backoffUntil.Store(v.now().Add(d).UnixNano())
		return answer{}, &unavailableError{
			cause:      fmt.Errorf("middleware: introspect: status 429, backing off %s", d),
			retryAfter: d,
		}
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return answer{}, unavailable("middleware: introspect: status %d: %w", resp.StatusCode, ErrCredentialsRejected)
	default:
		return answer{}, unavailable("middleware: introspect: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return answer{}, unavailable("middleware: introspect: read: %w", err)
	}
	a, err := parseAnswer(b)
	if err != nil {
		return answer{}, &unavailableError{cause: err}
	}
	return a, nil
}

// parseRetryAfter reads delta-seconds or an HTTP-date (RFC 9110 §10.2.3),
// clamped to [defaultRetryAfter, maxRetryAfter] when present and sane.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return defaultRetryAfter
	}
	var d time.Duration
	if n, err := strconv.ParseInt(h, 10, 64); err == nil {
		if n <= 0 {
			return defaultRetryAfter
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return defaultRetryAfter
	}
	return min(max(d, defaultRetryAfter), maxRetryAfter)
}

var errNotObject = errors.New("middleware: introspection answer is not a JSON object")

// rawAnswer keeps the loosely typed members raw, to check them by hand.
type rawAnswer struct {
	Active    json.RawMessage `json:"active"`
	Scope     json.RawMessage `json:"scope"`
	ClientID  json.RawMessage `json:"client_id"`
	Username  json.RawMessage `json:"username"`
	Sub       json.RawMessage `json:"sub"`
	TokenType json.RawMessage `json:"token_type"`
	TokenUse  json.RawMessage `json:"token_use"` // Ory Hydra
	Typ       json.RawMessage `json:"typ"`       // Keycloak
	Exp       json.RawMessage `json:"exp"`
	Iat       json.RawMessage `json:"iat"`
	Aud       json.RawMessage `json:"aud"`
}

// parseAnswer parses an introspection body. Anything but a JSON object is
// an error (the server is broken: fail closed). Inside an object, active
// must be exactly true; an active answer whose claims have the wrong types
// (exp not a number, aud neither string nor array of strings, ...) is
// rejected with errBadClaims, like an inactive one. Unknown members are
// ignored.
func parseAnswer(b []byte) (answer, error) {
	var raw rawAnswer
	if err := json.Unmarshal(b, &raw); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return answer{}, errNotObject
		}
		return answer{}, fmt.Errorf("middleware: introspection answer: %w", err)
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return answer{}, errNotObject
	}
	if !bytes.Equal(raw.Active, []byte("true")) {
		return answer{reject: errInactive}, nil
	}
	var a answer
	bad := answer{reject: errBadClaims}
	var ok bool
	var sc string
	if sc, ok = optString(raw.Scope); !ok {
		return bad, nil
	}
	a.id.Scopes = splitScope(sc)
	if a.id.ClientID, ok = optString(raw.ClientID); !ok {
		return bad, nil
	}
	if a.id.Username, ok = optString(raw.Username); !ok {
		return bad, nil
	}
	if a.id.Subject, ok = optString(raw.Sub); !ok {
		return bad, nil
	}
	if a.id.TokenType, ok = optString(raw.TokenType); !ok {
		return bad, nil
	}
	if reject := checkAccessToken(a.id.TokenType, raw.TokenUse, raw.Typ); reject != nil {
		return answer{reject: reject}, nil
	}
	if a.id.ExpiresAt, a.hasExp, ok = optTime(raw.Exp); !ok {
		return bad, nil
	}
	if a.id.IssuedAt, _, ok = optTime(raw.Iat); !ok {
		return bad, nil
	}
	if a.id.Audience, ok = optAudience(raw.Aud); !ok {
		return bad, nil
	}
	return a, nil
}

// checkAccessToken refuses an active answer that says the token is not an
// access token. RFC 7662 §2.2 leaves token_type free, and servers answer
// "active" for every token they know: Ory Hydra for refresh tokens (with
// "token_use": "refresh_token", whatever the hint), Keycloak for refresh,
// offline and ID tokens ("typ": "Refresh", "Offline", "ID"), Portcullis
// for a refresh token hinted as one ("token_type": "refresh_token"). Each of
// token_type, token_use and typ, when present, must name an access token;
// an answer without any of them (DOT's) passes. A member of the wrong JSON
// type is malformed.
func checkAccessToken(tokenType string, tokenUse, typ json.RawMessage) error {
	use, ok := optString(tokenUse)
	if !ok {
		return errBadClaims
	}
	t, ok := optString(typ)
	if !ok {
		return errBadClaims
	}
	for _, v := range [...]string{tokenType, use, t} {
		if v != "" && !isAccessTokenKind(v) {
			return errNotAccess
		}
	}
	return nil
}

// isAccessTokenKind reports whether v, a token_type, token_use or typ
// value, names a bearer access token: "Bearer" (RFC 6750; Keycloak's typ,
// Hydra's "bearer"), "access_token" (Hydra's token_use, RFC 7009's hint
// value) or RFC 8693's access-token URN. "DPoP" is refused: the middleware
// checks no proof of possession (RFC 9449 §7), so it must not accept a
// sender-constrained token as a bearer one.
func isAccessTokenKind(v string) bool {
	return strings.EqualFold(v, "Bearer") || v == "access_token" ||
		v == "urn:ietf:params:oauth:token-type:access_token"
}

func absent(r json.RawMessage) bool { return len(r) == 0 || bytes.Equal(r, []byte("null")) }

func optString(r json.RawMessage) (string, bool) {
	if absent(r) {
		return "", true
	}
	var s string
	if r[0] != '"' || json.Unmarshal(r, &s) != nil {
		return "", false
	}
	return s, true
}

// optTime reads a NumericDate: an int or a float of seconds since the epoch.
func optTime(r json.RawMessage) (time.Time, bool, bool) {
	if absent(r) {
		return time.Time{}, false, true
	}
	if c := r[0]; c != '-' && (c < '0' || c > '9') {
		return time.Time{}, false, false
	}
	f, err := strconv.ParseFloat(string(r), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false, false
	}
	f = min(max(f, 0), maxEpoch)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, true
}

func optAudience(r json.RawMessage) ([]string, bool) {
	if absent(r) {
		return nil, true
	}
	switch r[0] {
	case '"':
		s, ok := optString(r)
		return []string{s}, ok
	case '[':
		var out []string
		if err := json.Unmarshal(r, &out); err != nil {
			return nil, false
		}
		return out, true
	}
	return nil, false
}

// splitScope is lenient where scope.Parse is strict: servers other than
// Portcullis may send runs of spaces. Duplicates are dropped.
func splitScope(s string) scope.Set {
	if s == "" {
		return nil
	}
	if set, err := scope.Parse(s); err == nil {
		return set
	}
	var out scope.Set
	for _, f := range strings.Fields(s) {
		if !out.Has(f) {
			out = append(out, f)
		}
	}
	return out
}
