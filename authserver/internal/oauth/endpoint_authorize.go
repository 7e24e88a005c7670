package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// clientLookup finds a client by id without authenticating it
// (clients.Registry).
type clientLookup interface {
	Get(ctx context.Context, clientID string) (clients.Client, error)
}

// CodeStore keeps authorization codes; the token store (tokens.Store)
// implements it, checked where cmd wires them.
type CodeStore interface {
	IssueCode(ctx context.Context, c grant.Code) (string, error)
	ConsumeCode(ctx context.Context, code string) (grant.Code, error)
	IssueForCode(ctx context.Context, code string, g grant.Grant) (grant.Issued, error)
}

var _ clientLookup = (*clients.Registry)(nil)

// Authorization endpoint error codes (RFC 6749 §4.1.2.1) beyond §5.2's.
const (
	CodeAccessDenied            = "access_denied"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeServerError             = "server_error"
)

// AuthorizeError is an authorization request that failed. With a
// RedirectURI it is sent back to the client (RFC 6749 §4.1.2.1, see
// Location); without one the client or redirect URI could not be trusted
// and the error must be shown to the user instead.
type AuthorizeError struct {
	*Error
	RedirectURI string
	State       string
	// Trusted is set when the client is one an administrator vetted
	// (skip_authorization), whose redirect URIs may receive an error
	// before the user has authenticated (see Redirect).
	Trusted bool
}

// Redirect is where the error goes, for a user who has or has not
// authenticated: Location, or "" when it must be shown on a page. Anyone
// can register an application with any redirect URI, so before the user
// has authenticated only a trusted client's redirect URI gets an automatic
// redirect; otherwise the server would be an open redirector for any site
// (RFC 9700 §4.11.2).
func (e *AuthorizeError) Redirect(authenticated bool) string {
	if !authenticated && !e.Trusted {
		return ""
	}
	return e.Location()
}

// Location is the redirect carrying the error to the client, or "" when
// the error must be shown on a page.
func (e *AuthorizeError) Location() string {
	if e.RedirectURI == "" {
		return ""
	}
	v := url.Values{"error": {e.Code}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	if e.State != "" {
		v.Set("state", e.State)
	}
	return addQuery(e.RedirectURI, v)
}

// Authorization is a valid authorization request (RFC 6749 §4.1.1 with
// RFC 7636), waiting for the user's decision.
type Authorization struct {
	Client clients.Client
	// RedirectURI is where the answer goes; RedirectURIGiven says whether
	// the request named it.
	RedirectURI      string
	RedirectURIGiven bool
	Scope            scope.Set
	State            string
	Challenge        string
	ChallengeMethod  string
	// OpenID holds the OpenID Connect parameters (authorize_openid.go).
	OpenID OpenIDRequest
}

// Params are the request parameters that reproduce a (the consent form
// carries them from the GET to the POST).
func (a Authorization) Params() url.Values {
	v := url.Values{"response_type": {"code"}, "client_id": {a.Client.ClientID}, "scope": {a.Scope.String()}}
	if a.RedirectURIGiven {
		v.Set("redirect_uri", a.RedirectURI)
	}
	if a.State != "" {
		v.Set("state", a.State)
	}
	if a.Challenge != "" {
		v.Set("code_challenge", a.Challenge)
		v.Set("code_challenge_method", a.ChallengeMethod)
	}
	a.OpenID.addParams(v)
	return v
}

func pageError(code, desc string, status int) *AuthorizeError {
	return &AuthorizeError{Error: &Error{Code: code, Description: desc, Status: status}}
}

// ParseAuthorize validates an authorization request. The client and the
// redirect URI are checked first: when either is unknown, missing,
// repeated or does not match exactly, the error has no RedirectURI, and
// neither has an unsupported response_type. Every later error may be
// redirected with the request's state (see AuthorizeError.Redirect).
func (s *Server) ParseAuthorize(ctx context.Context, q url.Values) (Authorization, *AuthorizeError) {
	if s.lookup == nil || s.codes == nil {
		return Authorization{}, &AuthorizeError{Error: ErrUnavailable(errors.New("oauth: authorization code flow not wired"))}
	}
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		return Authorization{}, pageError(CodeInvalidRequest, "The client_id or redirect_uri parameter is repeated.", http.StatusBadRequest)
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return Authorization{}, pageError(CodeInvalidRequest, "Missing client_id parameter.", http.StatusBadRequest)
	}
	c, err := s.lookup.Get(ctx, clientID)
	if errors.Is(err, clients.ErrNotFound) {
		return Authorization{}, pageError(CodeInvalidClient, "Unknown application.", http.StatusBadRequest)
	}
	if err != nil {
		return Authorization{}, &AuthorizeError{Error: ErrUnavailable(err)}
	}
	a := Authorization{Client: c, State: q.Get("state")}
	registered := c.RedirectURIs()
	switch ru := q.Get("redirect_uri"); {
	case q.Has("redirect_uri"):
		for _, r := range registered {
			if r == ru {
				a.RedirectURI, a.RedirectURIGiven = ru, true
			}
		}
		if a.RedirectURI == "" {
			return Authorization{}, pageError(CodeInvalidRequest, "Mismatching redirect URI.", http.StatusBadRequest)
		}
	case len(registered) == 1:
		a.RedirectURI = registered[0]
	default:
		return Authorization{}, pageError(CodeInvalidRequest, "Missing redirect URI.", http.StatusBadRequest)
	}
	redirect := func(e *Error) (Authorization, *AuthorizeError) {
		return Authorization{}, &AuthorizeError{Error: e, RedirectURI: a.RedirectURI, State: a.State, Trusted: c.SkipAuthorization}
	}
	for _, n := range []string{"response_type", "scope", "state", "code_challenge", "code_challenge_method"} {
		if len(q[n]) > 1 {
			return redirect(ErrInvalidRequest("Parameter " + n + " is repeated."))
		}
	}
	switch q.Get("response_type") {
	case "code":
	case "":
		return redirect(ErrInvalidRequest("Missing response_type parameter."))
	default:
		// Never redirected: an implicit (token) response would go in the
		// fragment, and only the code flow is offered (RFC 9700 §2.1.2).
		return Authorization{}, pageError(CodeUnsupportedResponseType, "Only response_type=code is supported.", http.StatusBadRequest)
	}
	if !c.AllowsGrant(clients.GrantAuthorizationCode) {
		return redirect(ErrUnauthorizedClient())
	}
	a.Challenge, a.ChallengeMethod = q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case a.Challenge == "" && a.ChallengeMethod != "":
		return redirect(ErrInvalidRequest("code_challenge_method without code_challenge."))
	case a.Challenge == "" && c.IsPublic():
		return redirect(ErrInvalidRequest("Code challenge required."))
	case a.Challenge != "" && a.ChallengeMethod != PKCEMethodS256:
		return redirect(ErrInvalidRequest("Unsupported code challenge method: use S256."))
	case a.Challenge != "" && !validS256Challenge(a.Challenge):
		return redirect(ErrInvalidRequest("Malformed code_challenge."))
	}
	sc, oerr := s.resolveScope(c, q.Get("scope"))
	if oerr != nil {
		return redirect(oerr)
	}
	a.Scope = sc
	if oerr := s.parseOpenID(ctx, q, &a); oerr != nil {
		return redirect(oerr)
	}
	return a, nil
}

// Deny is the redirect telling the client that the user said no.
func (a Authorization) Deny() string {
	e := &AuthorizeError{Error: &Error{Code: CodeAccessDenied, Description: "The user denied the request."}, RedirectURI: a.RedirectURI, State: a.State}
	return e.Location()
}

// Generation is the revocation generation to read before the user who
// approves an authorization is checked, and to pass to Approve (see
// grant.Checked). Errors: grant.ErrUnavailable.
func (s *Server) Generation(ctx context.Context) (int64, error) { return s.tokens.Generation(ctx) }

// Approve issues a code for a, granted by user (id and email), whose check
// against the database came after checked was read (Generation): the
// tokens issued for the code are refused if the user was revoked since.
// It returns the redirect that carries the code. Errors go to the client
// as server_error or temporarily_unavailable.
func (s *Server) Approve(ctx context.Context, a Authorization, userID int64, email string, checked int64) (string, *AuthorizeError) {
	code, err := s.codes.IssueCode(ctx, grant.Code{
		ClientID: a.Client.ClientID, UserID: userID, Username: email, Scope: a.Scope.String(),
		RedirectURI: a.RedirectURI, RedirectURIGiven: a.RedirectURIGiven,
		Challenge: a.Challenge, ChallengeMethod: a.ChallengeMethod, Checked: checked,
	})
	if err == nil {
		err = s.rememberAuthentication(ctx, a, code, userID, email)
	}
	if err != nil {
		return "", &AuthorizeError{Error: &Error{Code: CodeTemporarilyUnavail, Status: http.StatusServiceUnavailable, cause: err}, RedirectURI: a.RedirectURI, State: a.State}
	}
	v := url.Values{"code": {code}}
	if a.State != "" {
		v.Set("state", a.State)
	}
	return addQuery(a.RedirectURI, v), nil
}

// addQuery appends v to the query of a registered redirect URI, keeping
// the query it already has (RFC 6749 §3.1.2).
func addQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
		if strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&") {
			sep = ""
		}
	}
	return uri + sep + v.Encode()
}
