package oauth

import (
	"context"
	"errors"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

// codeRequest is a parsed authorization code grant (RFC 6749 §4.1.3,
// RFC 7636 §4.5).
type codeRequest struct {
	code, redirectURI, verifier string
	redirectGiven               bool
}

func parseCode(r TokenRequest) (codeRequest, *Error) {
	p := codeRequest{code: r.Form.Get("code"), redirectURI: r.Form.Get("redirect_uri"),
		redirectGiven: r.Form.Has("redirect_uri"), verifier: r.Form.Get("code_verifier")}
	if p.code == "" {
		return p, ErrInvalidRequest("Missing code parameter.")
	}
	return p, nil
}

// grantAuthorizationCode exchanges a code. The code is consumed before any
// other check, so a code presented with a wrong verifier or by the wrong
// client is spent; a second presentation revokes what the first produced.
func (s *Server) grantAuthorizationCode(ctx context.Context, c clients.Client, r TokenRequest) (tokens.Issued, *Error) {
	if s.codes == nil {
		return tokens.Issued{}, ErrUnsupportedGrantType()
	}
	p, oerr := parseCode(r)
	if oerr != nil {
		return tokens.Issued{}, oerr
	}
	if !c.AllowsGrant(clients.GrantAuthorizationCode) {
		return tokens.Issued{}, ErrUnauthorizedClient()
	}
	code, err := s.codes.ConsumeCode(ctx, p.code)
	switch {
	case errors.Is(err, tokens.ErrCodeReplayed):
		s.log.WarnContext(ctx, "authorization code replayed: tokens issued from it revoked", "client_id", c.ClientID)
		return tokens.Issued{}, ErrInvalidGrant("")
	case err != nil:
		return tokens.Issued{}, storeError(err)
	}
	if oerr := checkCode(code, c, p); oerr != nil {
		return tokens.Issued{}, oerr
	}
	if s.finder != nil {
		u, err := s.finder.ByID(ctx, code.UserID)
		if errors.Is(err, accounts.ErrNotFound) || err == nil && !u.IsActive {
			return tokens.Issued{}, ErrInvalidGrant("")
		}
		if err != nil {
			return tokens.Issued{}, ErrUnavailable(err)
		}
	}
	iss, err := s.codes.IssueForCode(ctx, p.code, tokens.Grant{ClientID: c.ClientID, UserID: code.UserID, Username: code.Username, Scope: code.Scope,
		Checked: tokens.Checked{User: code.Checked, Client: c.Checked}})
	if err != nil {
		return tokens.Issued{}, storeError(err)
	}
	return iss, nil
}

// checkCode is the Validate step: the code must belong to the client, the
// redirect URI must be the one the code was sent to (and be repeated when
// the authorization request named it), and the verifier must match the
// challenge. A verifier without a challenge is refused too (RFC 9700
// §2.1.1: PKCE downgrade).
func checkCode(code tokens.Code, c clients.Client, p codeRequest) *Error {
	switch {
	case code.ClientID != c.ClientID:
		return ErrInvalidGrant("")
	case code.RedirectURIGiven && !p.redirectGiven:
		return ErrInvalidGrant("Missing redirect_uri.")
	case p.redirectGiven && p.redirectURI != code.RedirectURI:
		return ErrInvalidGrant("Mismatching redirect URI.")
	case code.Challenge == "" && p.verifier != "":
		return ErrInvalidGrant("Code verifier without code challenge.")
	case code.Challenge != "" && p.verifier == "":
		return ErrInvalidGrant("Code verifier required.")
	case code.Challenge != "" && !verifyPKCE(code.Challenge, code.ChallengeMethod, p.verifier):
		return ErrInvalidGrant("Code verifier failed.")
	}
	return nil
}
