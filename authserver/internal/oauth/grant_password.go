package oauth

import (
	"context"
	"errors"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

// passwordRequest is a parsed password grant (RFC 6749 §4.3.2).
type passwordRequest struct {
	username, password, scope string
}

func parsePassword(r TokenRequest) (passwordRequest, *Error) {
	p := passwordRequest{username: r.Form.Get("username"), password: r.Form.Get("password"), scope: r.Form.Get("scope")}
	switch {
	case !r.Form.Has("username"):
		return p, ErrInvalidRequest("Request is missing username parameter.")
	case !r.Form.Has("password"):
		return p, ErrInvalidRequest("Request is missing password parameter.")
	}
	return p, nil
}

// grantPassword is the resource owner password credentials grant. Unknown
// email, wrong password and inactive account give the same invalid_grant,
// after the same hashing work; past the throttle limit every attempt gets
// 429, whether or not the password is right.
func (s *Server) grantPassword(ctx context.Context, c clients.Client, r TokenRequest) (grant.Issued, *Error) {
	p, oerr := parsePassword(r)
	if oerr != nil {
		return grant.Issued{}, oerr
	}
	if !c.AllowsGrant(clients.GrantPassword) {
		return grant.Issued{}, ErrUnauthorizedClient()
	}
	sc, oerr := s.resolveScope(c, p.scope)
	if oerr != nil {
		return grant.Issued{}, oerr
	}
	// The attempt is counted before the password is checked, so parallel
	// guesses cannot pass the limit.
	attempt, retry, err := s.throttle.Begin(ctx, throttle.LoginKeys(accounts.NormalizeEmail(p.username), r.ClientIP)...)
	if err != nil {
		return grant.Issued{}, ErrUnavailable(err)
	}
	if retry > 0 {
		s.obs.Throttled()
		return grant.Issued{}, ErrThrottled(retry)
	}
	// The user is checked under the generation the client record was read
	// under, which is older than this request: a deactivation, password
	// reset or change committed after it has bumped the user's epoch past
	// it, and the issue is refused (grant.Checked). Only a user revoked
	// since then is checked again, under a generation read now: the common
	// grant costs no round trip for it.
	iss, revoked, oerr := s.authenticateAndIssue(ctx, c, p, sc.String(), c.Checked, attempt)
	if !revoked {
		return iss, oerr
	}
	now, err := s.tokens.Generation(ctx)
	if err != nil {
		return grant.Issued{}, ErrUnavailable(err)
	}
	iss, revoked, oerr = s.authenticateAndIssue(ctx, c, p, sc.String(), now, nil)
	if revoked {
		return grant.Issued{}, ErrInvalidGrant("Invalid credentials given.")
	}
	return iss, oerr
}

// authenticateAndIssue checks the user's credentials, then issues under
// checked, the generation read before the check; revoked reports an issue
// refused because the user or the client was revoked after checked.
// attempt, when not nil, is settled as a success once the credentials are
// right.
func (s *Server) authenticateAndIssue(ctx context.Context, c clients.Client, p passwordRequest, sc string, checked int64,
	attempt *throttle.Attempt) (iss grant.Issued, revoked bool, oerr *Error) {
	u, err := s.users.Authenticate(ctx, p.username, p.password)
	if errors.Is(err, accounts.ErrInvalidCredentials) {
		return grant.Issued{}, false, ErrInvalidGrant("Invalid credentials given.")
	}
	if err != nil {
		return grant.Issued{}, false, ErrUnavailable(err)
	}
	if attempt != nil {
		if err := attempt.Succeeded(ctx); err != nil {
			s.log.WarnContext(ctx, "throttle reset failed", "error", err)
		}
	}
	iss, err = s.tokens.Issue(ctx, grant.Grant{ClientID: c.ClientID, UserID: u.ID, Username: u.Email, Scope: sc,
		Checked: grant.Checked{User: checked, Client: c.Checked}}, issuesRefresh(c))
	if errors.Is(err, grant.ErrRevoked) {
		return grant.Issued{}, true, nil
	}
	if err != nil {
		return grant.Issued{}, false, ErrUnavailable(err)
	}
	return iss, false, nil
}
