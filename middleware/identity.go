package middleware

import (
	"context"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// Identity is what the auth server said about a token. It is shared with
// the cache: treat its slices as read-only.
type Identity struct {
	Subject   string    // sub; empty when the server sends none (DOT)
	Username  string    // username; empty for client-credentials tokens
	ClientID  string    // client_id
	Scopes    scope.Set // scope, split on spaces
	ExpiresAt time.Time // exp; zero when the server sends none
	IssuedAt  time.Time // iat; zero when the server sends none
	Audience  []string  // aud, a string or an array on the wire
	TokenType string    // token_type, when sent
}

type identityKey struct{}

type requestIDKey struct{}

// FromContext returns the Identity that Handler, Require or an adapter put
// in the request's context.
func FromContext(ctx context.Context) (Identity, bool) {
	p, ok := ctx.Value(identityKey{}).(*Identity)
	if !ok || p == nil {
		return Identity{}, false
	}
	return *p, true
}

// withIdentity stores a pointer, so the context costs one allocation.
func withIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

func withRequestID(ctx context.Context, rid string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, rid)
}
