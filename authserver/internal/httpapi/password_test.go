package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/httpapi"
	"github.com/portcullis-oauth/portcullis/authserver/internal/lifecycle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// fakeBearer is the token store under the real lifecycle.Service of the
// /users/ endpoints: access tokens by value, and a record of every user
// revocation.
type fakeBearer struct {
	mu        sync.Mutex
	access    map[string]tokens.Access
	lookupErr error
	revokeErr error
	revoked   []revokeUserCall
}

type revokeUserCall struct {
	userID int64
	keep   string
	reason revocation.Reason
}

func (f *fakeBearer) LookupAccess(_ context.Context, tok string) (tokens.Access, error) {
	if f.lookupErr != nil {
		return tokens.Access{}, f.lookupErr
	}
	a, ok := f.access[tok]
	if !ok {
		return tokens.Access{}, tokens.ErrNotFound
	}
	return a, nil
}

func (f *fakeBearer) RevokeUser(_ context.Context, userID int64, keep string, reason revocation.Reason) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, revokeUserCall{userID, keep, reason})
	return f.revokeErr
}

func (f *fakeBearer) RevokeClient(context.Context, string, revocation.Reason) error {
	panic("the /users/ endpoints never revoke a client")
}

func (f *fakeBearer) RevokeUserClient(context.Context, int64, string, revocation.Reason) error {
	panic("the /users/ endpoints never revoke a user's grant of a client")
}

func (f *fakeBearer) ClientUpdated(context.Context, string) error {
	panic("the /users/ endpoints never change a client")
}

// noClients is a client cache with nothing in it.
type noClients struct{}

func (noClients) Forget(string) {}

type passwordAPI struct {
	engine   *httpapi.Engine
	accounts *accounts.Service
	tokens   *fakeBearer
	user     accounts.User
}

// newPasswordAPI serves /users/password/ with real accounts (SQLite), a
// real login throttle (miniredis, three failures allowed) and a fake token
// store that knows "pcat_user" (family fam-1), "pcat_app" (no user) and
// "pcat_gone" (a user that does not exist).
func newPasswordAPI(t *testing.T) *passwordAPI {
	t.Helper()
	db := testenv.DB(t, testenv.SQLiteURL(t))
	h, err := passwords.NewHasher(testenv.CheapArgon)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := accounts.NewService(accounts.NewStore(db), h, passwords.Validate, log)
	u, err := svc.CreateSuperuser(testenv.Context(t), "user1@email.com", "testpass123", "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	fb := &fakeBearer{access: map[string]tokens.Access{
		"pcat_user": {Grant: tokens.Grant{ClientID: "rs-id", UserID: u.ID, Username: u.Email, Scope: "read write"}, Family: "fam-1"},
		"pcat_app":  {Grant: tokens.Grant{ClientID: "cc", Scope: "read"}, Family: "fam-2"},
		"pcat_gone": {Grant: tokens.Grant{ClientID: "rs-id", UserID: u.ID + 100, Scope: "read"}, Family: "fam-3"},
	}}
	e := httpapi.New(httpapi.Deps{
		Accounts: svc, Lifecycle: lifecycle.New(fb, noClients{}), Throttle: throttle.New(testenv.Compat(t, rdb), testenv.Prefix(), 3, time.Minute),
		Ready: map[string]httpapi.Pinger{"database": pinger{}, "redis": pinger{}}, Log: log,
	})
	return &passwordAPI{engine: e, accounts: svc, tokens: fb, user: u}
}

func (p *passwordAPI) change(method, token, body string) (int, http.Header, map[string]any) {
	r := jsonReq(method, "/users/password/", body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := (&api{engine: p.engine}).do(r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, w.Header(), out
}

const changeBody = `{"old_password": "testpass123", "password": "n3w-Passw0rd", "password2": "n3w-Passw0rd"}`

func TestChangePassword(t *testing.T) {
	for _, method := range []string{http.MethodPut, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			p := newPasswordAPI(t)
			code, _, body := p.change(method, "pcat_user", changeBody)
			if code != http.StatusOK || len(body) != 0 {
				t.Fatalf("%d %v, want 200 {}", code, body)
			}
			want := revokeUserCall{p.user.ID, "pcat_user", revocation.ReasonPasswordChange}
			if len(p.tokens.revoked) != 1 || p.tokens.revoked[0] != want {
				t.Fatalf("revocations %+v, want %+v: every other token of the user, this one kept", p.tokens.revoked, want)
			}
			ctx := context.Background()
			if _, err := p.accounts.Authenticate(ctx, "user1@email.com", "n3w-Passw0rd"); err != nil {
				t.Fatalf("the new password does not work: %v", err)
			}
			if _, err := p.accounts.Authenticate(ctx, "user1@email.com", "testpass123"); err == nil {
				t.Fatal("the old password still works")
			}
		})
	}
}

func TestChangePasswordRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, token, body string
		setup             func(p *passwordAPI)
		status            int
		field             string // the DRF field error expected, if any
		challenge         string // in WWW-Authenticate, if any
	}{
		{name: "no token", body: changeBody, status: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "an unknown token", token: "pcat_nope", body: changeBody, status: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "a token of a user that is gone", token: "pcat_gone", body: changeBody, status: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "a client's own token, no user", token: "pcat_app", body: changeBody, status: http.StatusForbidden},
		{name: "a wrong old password", token: "pcat_user", body: `{"old_password": "nope", "password": "n3w-Passw0rd", "password2": "n3w-Passw0rd"}`,
			status: http.StatusBadRequest, field: "old_password"},
		{name: "passwords that differ", token: "pcat_user", body: `{"old_password": "testpass123", "password": "n3w-Passw0rd", "password2": "other-Passw0rd"}`,
			status: http.StatusBadRequest, field: "password2"},
		{name: "a weak password", token: "pcat_user", body: `{"old_password": "testpass123", "password": "123", "password2": "123"}`,
			status: http.StatusBadRequest, field: "password"},
		{name: "no fields", token: "pcat_user", body: `{}`, status: http.StatusBadRequest, field: "old_password"},
		{name: "a body that is not JSON", token: "pcat_user", body: `{"old_password": `, status: http.StatusBadRequest},
		{name: "the token store is down", token: "pcat_user", body: changeBody,
			setup: func(p *passwordAPI) { p.tokens.lookupErr = tokens.ErrUnavailable }, status: http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPasswordAPI(t)
			if tc.setup != nil {
				tc.setup(p)
			}
			code, hdr, body := p.change(http.MethodPut, tc.token, tc.body)
			if code != tc.status {
				t.Fatalf("%d %v, want %d", code, body, tc.status)
			}
			if tc.field != "" {
				if msgs, ok := body[tc.field].([]any); !ok || len(msgs) == 0 {
					t.Fatalf("body %v has no DRF error list for %s", body, tc.field)
				}
			}
			if tc.challenge != "" && !strings.Contains(hdr.Get("WWW-Authenticate"), tc.challenge) {
				t.Fatalf("WWW-Authenticate %q lacks %q", hdr.Get("WWW-Authenticate"), tc.challenge)
			}
			if code == http.StatusServiceUnavailable && hdr.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			if len(p.tokens.revoked) != 0 {
				t.Fatalf("a refused change revoked tokens: %+v", p.tokens.revoked)
			}
			if _, err := p.accounts.Authenticate(context.Background(), "user1@email.com", "testpass123"); err != nil {
				t.Fatalf("a refused change changed the password: %v", err)
			}
		})
	}
}

// TestChangePasswordThrottlesOldPasswordGuesses: old_password is a password
// guess like a login, counted against the same limit; past it, even the
// right one gets 429 with Retry-After.
func TestChangePasswordThrottlesOldPasswordGuesses(t *testing.T) {
	p := newPasswordAPI(t)
	wrong := `{"old_password": "guess", "password": "n3w-Passw0rd", "password2": "n3w-Passw0rd"}`
	for i := range 3 {
		if code, _, _ := p.change(http.MethodPut, "pcat_user", wrong); code != http.StatusBadRequest {
			t.Fatalf("guess %d: %d, want 400", i+1, code)
		}
	}
	code, hdr, body := p.change(http.MethodPut, "pcat_user", changeBody)
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || body["detail"] == nil {
		t.Fatalf("after three wrong guesses: %d %v (Retry-After %q), want 429 with Retry-After", code, body, hdr.Get("Retry-After"))
	}
	if len(p.tokens.revoked) != 0 {
		t.Fatal("a throttled change revoked tokens")
	}
}

// TestChangePasswordRevocationFails: when the other tokens cannot be
// revoked the answer is 503, not a success the user would trust.
func TestChangePasswordRevocationFails(t *testing.T) {
	p := newPasswordAPI(t)
	p.tokens.revokeErr = tokens.ErrUnavailable
	code, hdr, _ := p.change(http.MethodPut, "pcat_user", changeBody)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("%d (Retry-After %q), want 503 with Retry-After", code, hdr.Get("Retry-After"))
	}
}
