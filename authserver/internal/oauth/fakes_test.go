package oauth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// Fakes of the small interfaces in server.go, for the grant and endpoint
// unit tests: each records its calls and fails when told to.

var (
	_ tokenStore        = (*fakeTokens)(nil)
	_ userAuthenticator = (*fakePasswords)(nil)
	_ throttler         = (*fakeThrottle)(nil)
	_ observer          = (*fakeObserver)(nil)
)

var errDown = errors.New("connection refused")

type rotateCall struct{ token, clientID, scope string }
type revokeCall struct{ token, hint, clientID string }

// fakeTokens is a token store whose answers are canned.
type fakeTokens struct {
	mu        sync.Mutex
	issued    []tokens.Grant
	refresh   []bool // per Issue call: withRefresh
	rotated   []rotateCall
	revoked   []revokeCall
	issueErr  error
	rotateErr error
	revokeErr error
}

func (f *fakeTokens) Issue(_ context.Context, g tokens.Grant, withRefresh bool) (tokens.Issued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issueErr != nil {
		return tokens.Issued{}, f.issueErr
	}
	f.issued = append(f.issued, g)
	f.refresh = append(f.refresh, withRefresh)
	iss := tokens.Issued{AccessToken: "pcat_issued", AccessExpiresAt: time.Now().Add(time.Hour), Scope: g.Scope, Family: "fam"}
	if withRefresh {
		iss.RefreshToken = "pcrt_issued"
	}
	return iss, nil
}

// Generation is the revocation generation a grant reads before it checks
// the user or client; the fake has one that never moves.
func (f *fakeTokens) Generation(context.Context) (int64, error) { return 1, nil }

func (f *fakeTokens) LookupAccess(context.Context, string) (tokens.Access, error) {
	return tokens.Access{}, tokens.ErrNotFound
}

func (f *fakeTokens) LookupRefresh(context.Context, string) (tokens.Refresh, error) {
	return tokens.Refresh{}, tokens.ErrNotFound
}

func (f *fakeTokens) Rotate(_ context.Context, refreshToken, clientID, newScope string) (tokens.Issued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotated = append(f.rotated, rotateCall{refreshToken, clientID, newScope})
	if f.rotateErr != nil {
		return tokens.Issued{}, f.rotateErr
	}
	sc := newScope
	if sc == "" {
		sc = "read write"
	}
	return tokens.Issued{AccessToken: "pcat_rotated", AccessExpiresAt: time.Now().Add(time.Hour),
		RefreshToken: "pcrt_rotated", Scope: sc, Family: "fam"}, nil
}

func (f *fakeTokens) RevokeToken(_ context.Context, token, hint, clientID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, revokeCall{token, hint, clientID})
	return f.revokeErr == nil, f.revokeErr
}

// fakePasswords knows users by email and password; err, when set, is a
// store failure.
type fakePasswords struct {
	users map[string]accounts.User // by email
	pw    map[string]string        // email → password
	err   error
	calls int
}

func (f *fakePasswords) Authenticate(_ context.Context, email, password string) (accounts.User, error) {
	f.calls++
	if f.err != nil {
		return accounts.User{}, f.err
	}
	u, ok := f.users[email]
	if !ok || f.pw[email] != password || !u.IsActive {
		return accounts.User{}, accounts.ErrInvalidCredentials
	}
	return u, nil
}

// fakeThrottle answers Begin with retry (refused when > 0) or err, and
// records the keys it was asked about.
type fakeThrottle struct {
	retry time.Duration
	err   error
	keys  [][]string
}

func (f *fakeThrottle) Begin(_ context.Context, keys ...string) (*throttle.Attempt, time.Duration, error) {
	f.keys = append(f.keys, keys)
	if f.err != nil {
		return nil, 0, f.err
	}
	// A zero Attempt has no keys: Succeeded is a no-op.
	return &throttle.Attempt{}, f.retry, nil
}

// fakeObserver counts what the server reports.
type fakeObserver struct {
	issued    map[string]int
	throttled int
}

func (f *fakeObserver) Issued(grant string) {
	if f.issued == nil {
		f.issued = map[string]int{}
	}
	f.issued[grant]++
}
func (f *fakeObserver) Introspected(bool) {}
func (f *fakeObserver) Throttled()        { f.throttled++ }

// unitEnv is a Server on fakes only: no Redis, no SQL.
type unitEnv struct {
	s     *Server
	tok   *fakeTokens
	users *fakePasswords
	thr   *fakeThrottle
	obs   *fakeObserver
}

// The clients every unit test knows; secrets are compared as they are.
var unitClients = fakeClients{
	"rs-id":  {ClientID: "rs-id", SecretHash: "rs-secret", Type: clients.Confidential, GrantTypesRaw: "password refresh_token"},
	"pw":     {ClientID: "pw", SecretHash: "pw-secret", Type: clients.Confidential, GrantTypesRaw: "password"},
	"cc":     {ClientID: "cc", SecretHash: "cc-secret", Type: clients.Confidential, GrantTypesRaw: "client_credentials"},
	"ro":     {ClientID: "ro", SecretHash: "ro-secret", Type: clients.Confidential, GrantTypesRaw: "password", ScopesRaw: "introspection"},
	"spa":    {ClientID: "spa", Type: clients.Public, GrantTypesRaw: "authorization_code", RedirectURIsRaw: spaCB},
	"pubpwd": {ClientID: "pubpwd", Type: clients.Public, GrantTypesRaw: "password"},
}

func newUnitEnv() *unitEnv {
	e := &unitEnv{
		tok: &fakeTokens{},
		users: &fakePasswords{
			users: map[string]accounts.User{
				"user1@email.com": {ID: 7, Email: "user1@email.com", IsActive: true},
				"off@email.com":   {ID: 8, Email: "off@email.com"},
			},
			pw: map[string]string{"user1@email.com": "testpass123", "off@email.com": "testpass123"},
		},
		thr: &fakeThrottle{},
		obs: &fakeObserver{},
	}
	e.s = NewServer(Config{Scopes: scope.Set{"read", "write", "introspection"}, DefaultScopes: scope.Set{"read", "write"}}, Deps{
		Clients: unitClients, Users: e.users, Tokens: e.tok, Throttle: e.thr, Metrics: e.obs,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	return e
}

// creds are a confidential client's credentials as HTTP Basic sends them.
func creds(id, secret string) Credentials {
	return Credentials{ClientID: id, Secret: secret, SecretSent: secret != ""}
}
