package web

import "context"

// Revoker ends tokens when an account or an application changes hands:
// deactivation, an admin's password reset, a deleted or re-keyed
// application, a user withdrawing an application's access. Every call
// publishes the revocation event. cmd wires it to the token store (or to
// the package that owns token lifecycle); every call site in web goes
// through h.d.Tokens, so they are found by that name.
type Revoker interface {
	RevokeUser(ctx context.Context, userID int64, exceptFamily, reason string) error
	RevokeClient(ctx context.Context, clientID, reason string) error
	RevokeUserClient(ctx context.Context, userID int64, clientID, reason string) error
}
