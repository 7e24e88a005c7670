package lifecycle

import (
	"context"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// The token consequences of the browser pages' own actions (issue 15).

// UserRevoked ends every token of a user whose tokens an admin revoked
// ("revoke all tokens"), leaving the account as it is. Errors:
// ErrUnavailable.
func (s *Service) UserRevoked(ctx context.Context, userID int64) error {
	return wrap("revoke user", s.tokens.RevokeUser(ctx, userID, "", revocation.ReasonRevoke))
}

// ClientRevoked ends every token of a client whose tokens an admin
// revoked, leaving the client registered. Errors: ErrUnavailable.
func (s *Service) ClientRevoked(ctx context.Context, clientID string) error {
	return wrap("revoke client", s.tokens.RevokeClient(ctx, clientID, revocation.ReasonRevoke))
}

// PasswordChangedInBrowser ends every token of a user who changed their
// password on the account page: a browser session holds no token to keep.
// Errors: ErrUnavailable.
func (s *Service) PasswordChangedInBrowser(ctx context.Context, userID int64) error {
	return wrap("change password", s.tokens.RevokeUser(ctx, userID, "", revocation.ReasonPasswordChange))
}
