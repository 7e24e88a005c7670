package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oidc"
)

// OpenID Connect authorization errors (Core §3.1.2.6). A request with
// prompt=none gets login_required where the login page would show and
// consent_required where the consent page would. The others of §3.1.2.6
// are not used: this server shows no third kind of page on the way to a
// code (no account chooser, as a browser has one session; no required
// action such as a password change or an email check; no interstitial), so
// interaction_required and account_selection_required have no case.
const (
	CodeLoginRequired       = "login_required"
	CodeConsentRequired     = "consent_required"
	CodeRequestNotSupported = "request_not_supported"
	CodeRequestURINotSupp   = "request_uri_not_supported"
)

// The prompt values this server honours (Core §3.1.2.1).
const (
	PromptNone    = "none"
	PromptLogin   = "login"
	PromptConsent = "consent"
)

// PromptValues are the supported prompt values, as advertised.
var PromptValues = []string{PromptNone, PromptLogin, PromptConsent}

// OpenIDRequest holds the OpenID Connect parameters of an authorization
// request (Core §3.1.2.1). They are read only when the scope holds openid.
type OpenIDRequest struct {
	Nonce  string
	Prompt []string
	// MaxAge is the longest time since the user's sign-in, in seconds;
	// -1 when not given.
	MaxAge int
	// HintSubject is the sub of a valid id_token_hint, or "".
	HintSubject string
	LoginHint   string
	// AuthTime is when the user signed in; the sign-in page sets it before
	// Approve.
	AuthTime time.Time
}

// Has reports whether prompt p was asked for.
func (o OpenIDRequest) Has(p string) bool { return slices.Contains(o.Prompt, p) }

// LoginStale reports whether a sign-in at authTime is too old for the
// request: prompt=login, max_age=0, or max_age seconds passed.
func (o OpenIDRequest) LoginStale(authTime, now time.Time) bool {
	if o.Has(PromptLogin) || o.MaxAge == 0 {
		return true
	}
	return o.MaxAge > 0 && now.Sub(authTime) > time.Duration(o.MaxAge)*time.Second
}

// SilentError is the error an authorization with prompt=none gets when it
// needs the user (Core §3.1.2.6), for a as redirected to its client: code
// is CodeLoginRequired or CodeConsentRequired.
func (a Authorization) SilentError(code string) *AuthorizeError {
	desc := map[string]string{
		CodeLoginRequired:   "The user must sign in.",
		CodeConsentRequired: "The user must consent.",
	}[code]
	return &AuthorizeError{Error: &Error{Code: code, Description: desc, Status: http.StatusBadRequest}, RedirectURI: a.RedirectURI, State: a.State}
}

// parseOpenID reads the OpenID Connect parameters into a.OpenID. Without
// the openid scope they are ignored (RFC 6749 requests stay as they were).
func (s *Server) parseOpenID(ctx context.Context, q url.Values, a *Authorization) *Error {
	a.OpenID = OpenIDRequest{MaxAge: -1}
	if !s.OpenIDEnabled() || !a.Scope.Has(oidc.ScopeOpenID) {
		return nil
	}
	if e := single(q, "nonce", "prompt", "max_age", "id_token_hint", "login_hint"); e != nil {
		return e
	}
	// Request objects are not offered (discovery says so, Core §6).
	if q.Has("request") {
		return &Error{Code: CodeRequestNotSupported, Status: http.StatusBadRequest}
	}
	if q.Has("request_uri") {
		return &Error{Code: CodeRequestURINotSupp, Status: http.StatusBadRequest}
	}
	o := &a.OpenID
	o.Nonce, o.LoginHint = q.Get("nonce"), q.Get("login_hint")
	if len(o.Nonce) > 512 || len(o.LoginHint) > 254 {
		return ErrInvalidRequest("nonce or login_hint is too long.")
	}
	for _, p := range strings.Fields(q.Get("prompt")) {
		if !slices.Contains(PromptValues, p) {
			return ErrInvalidRequest("Unsupported prompt value: " + p + ".")
		}
		if !slices.Contains(o.Prompt, p) {
			o.Prompt = append(o.Prompt, p)
		}
	}
	if o.Has(PromptNone) && len(o.Prompt) > 1 {
		return ErrInvalidRequest("prompt=none cannot be combined with other values.")
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return ErrInvalidRequest("max_age must be a whole number of seconds.")
		}
		o.MaxAge = n
	}
	if h := q.Get("id_token_hint"); h != "" {
		sub, err := s.idTokens.HintSubject(ctx, h, a.Client.ClientID)
		if errors.Is(err, oidc.ErrHint) {
			return ErrInvalidRequest("Invalid id_token_hint.")
		}
		if err != nil {
			return ErrUnavailable(err)
		}
		o.HintSubject = sub
	}
	return nil
}

// addParams puts the parameters the consent form must carry back into v.
// prompt and the hints are spent by the time the form is shown.
func (o OpenIDRequest) addParams(v url.Values) {
	if o.Nonce != "" {
		v.Set("nonce", o.Nonce)
	}
	if o.MaxAge >= 0 {
		v.Set("max_age", strconv.Itoa(o.MaxAge))
	}
}

// rememberAuthentication keeps what the id token of code will state.
func (s *Server) rememberAuthentication(ctx context.Context, a Authorization, code string, userID int64, email string) error {
	if !s.OpenIDEnabled() || !a.Scope.Has(oidc.ScopeOpenID) {
		return nil
	}
	return s.authns.RememberCode(ctx, code, oidc.Authentication{UserID: userID, Email: email, AuthTime: a.OpenID.AuthTime, Nonce: a.OpenID.Nonce})
}
