package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
)

func passwordForm(kv ...string) url.Values {
	f := url.Values{"grant_type": {"password"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func TestGrantPassword(t *testing.T) {
	for _, tc := range []struct {
		name     string
		client   Credentials
		form     url.Values
		setup    func(e *unitEnv)
		code     string // "" means success
		status   int
		wantUser bool // the password was checked
	}{
		{name: "the tutorial's request", client: creds("rs-id", "rs-secret"),
			form: passwordForm("username", "user1@email.com", "password", "testpass123"), wantUser: true},
		{name: "missing username", client: creds("rs-id", "rs-secret"),
			form: passwordForm("password", "testpass123"), code: CodeInvalidRequest, status: http.StatusBadRequest},
		{name: "missing password", client: creds("rs-id", "rs-secret"),
			form: passwordForm("username", "user1@email.com"), code: CodeInvalidRequest, status: http.StatusBadRequest},
		{name: "client not registered for the grant", client: creds("cc", "cc-secret"),
			form: passwordForm("username", "user1@email.com", "password", "testpass123"), code: CodeUnauthorizedClient, status: http.StatusBadRequest},
		{name: "unknown scope", client: creds("rs-id", "rs-secret"),
			form: passwordForm("username", "user1@email.com", "password", "testpass123", "scope", "admin"), code: CodeInvalidScope, status: http.StatusBadRequest},
		{name: "a client that may have none of the default scopes", client: creds("ro", "ro-secret"),
			form: passwordForm("username", "user1@email.com", "password", "testpass123"), code: CodeInvalidScope, status: http.StatusBadRequest},
		{name: "wrong password", client: creds("rs-id", "rs-secret"),
			form: passwordForm("username", "user1@email.com", "password", "nope"), code: CodeInvalidGrant, status: http.StatusBadRequest, wantUser: true},
		{name: "unknown user", client: creds("rs-id", "rs-secret"),
			form: passwordForm("username", "ghost@email.com", "password", "testpass123"), code: CodeInvalidGrant, status: http.StatusBadRequest, wantUser: true},
		{name: "inactive user", client: creds("rs-id", "rs-secret"),
			form: passwordForm("username", "off@email.com", "password", "testpass123"), code: CodeInvalidGrant, status: http.StatusBadRequest, wantUser: true},
		{name: "throttled: the password is not even checked", client: creds("rs-id", "rs-secret"),
			form:  passwordForm("username", "user1@email.com", "password", "testpass123"),
			setup: func(e *unitEnv) { e.thr.retry = 30 * time.Second }, code: CodeSlowDown, status: http.StatusTooManyRequests},
		{name: "throttle store down", client: creds("rs-id", "rs-secret"),
			form:  passwordForm("username", "user1@email.com", "password", "testpass123"),
			setup: func(e *unitEnv) { e.thr.err = errDown }, code: CodeTemporarilyUnavail, status: http.StatusServiceUnavailable},
		{name: "user store down", client: creds("rs-id", "rs-secret"),
			form:  passwordForm("username", "user1@email.com", "password", "testpass123"),
			setup: func(e *unitEnv) { e.users.err = errDown }, code: CodeTemporarilyUnavail, status: http.StatusServiceUnavailable, wantUser: true},
		{name: "password hashing queue full", client: creds("rs-id", "rs-secret"),
			form:  passwordForm("username", "user1@email.com", "password", "testpass123"),
			setup: func(e *unitEnv) { e.users.err = fmt.Errorf("accounts: authenticate: %w", passwords.ErrBusy) }, code: CodeTemporarilyUnavail, status: http.StatusServiceUnavailable, wantUser: true},
		{name: "token store down", client: creds("rs-id", "rs-secret"),
			form:  passwordForm("username", "user1@email.com", "password", "testpass123"),
			setup: func(e *unitEnv) { e.tok.issueErr = grant.ErrUnavailable }, code: CodeTemporarilyUnavail, status: http.StatusServiceUnavailable, wantUser: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUnitEnv()
			if tc.setup != nil {
				tc.setup(e)
			}
			resp, oerr := e.s.Token(context.Background(), TokenRequest{Form: tc.form, Credentials: tc.client, ClientIP: "192.0.2.1"})
			if (e.users.calls > 0) != tc.wantUser {
				t.Errorf("password checked %d times, want checked: %v", e.users.calls, tc.wantUser)
			}
			if tc.code != "" {
				if oerr == nil || oerr.Code != tc.code || oerr.Status != tc.status {
					t.Fatalf("got %+v, %v; want %s (%d)", resp, oerr, tc.code, tc.status)
				}
				if tc.status == http.StatusServiceUnavailable && oerr.RetryAfter <= 0 {
					t.Fatalf("503 without Retry-After: %+v", oerr)
				}
				if len(e.tok.issued) != 0 {
					t.Fatalf("a token was issued on %s", tc.code)
				}
				return
			}
			if oerr != nil {
				t.Fatal(oerr)
			}
			if resp.AccessToken == "" || resp.RefreshToken == "" || resp.TokenType != "Bearer" || resp.Scope != "read write" {
				t.Fatalf("response %+v", resp)
			}
			want := grant.Grant{ClientID: "rs-id", UserID: 7, Username: "user1@email.com", Scope: "read write"}
			if len(e.tok.issued) != 1 || e.tok.issued[0] != want || !e.tok.refresh[0] {
				t.Fatalf("issued %+v (refresh %v), want %+v with a refresh token", e.tok.issued, e.tok.refresh, want)
			}
		})
	}
}

// TestGrantPasswordSameAnswerForUnknownUserAndWrongPassword: an attacker
// learns nothing about which emails exist.
func TestGrantPasswordSameAnswerForUnknownUserAndWrongPassword(t *testing.T) {
	e := newUnitEnv()
	ask := func(user, pw string) *Error {
		_, oerr := e.s.Token(context.Background(), TokenRequest{Form: passwordForm("username", user, "password", pw), Credentials: creds("rs-id", "rs-secret")})
		return oerr
	}
	wrong, unknown, inactive := ask("user1@email.com", "nope"), ask("ghost@email.com", "nope"), ask("off@email.com", "testpass123")
	for _, o := range []*Error{unknown, inactive} {
		if o == nil || wrong == nil || *o != *wrong {
			t.Fatalf("answers differ: wrong password %+v, other %+v", wrong, o)
		}
	}
}

// TestGrantPasswordThrottleKeys: the attempt is counted per account (by its
// normalised email) and per client IP, before the password is checked.
func TestGrantPasswordThrottleKeys(t *testing.T) {
	e := newUnitEnv()
	_, oerr := e.s.Token(context.Background(), TokenRequest{
		Form: passwordForm("username", "User1@EMAIL.com", "password", "nope"), Credentials: creds("rs-id", "rs-secret"), ClientIP: "192.0.2.7"})
	if oerr == nil || oerr.Code != CodeInvalidGrant {
		t.Fatalf("got %v, want invalid_grant", oerr)
	}
	if len(e.thr.keys) != 1 {
		t.Fatalf("throttle asked %d times, want once", len(e.thr.keys))
	}
	if want := throttle.LoginKeys(accounts.NormalizeEmail("User1@EMAIL.com"), "192.0.2.7"); !slices.Equal(e.thr.keys[0], want) {
		t.Fatalf("throttle keys %q, want %q: the normalised account and the client IP", e.thr.keys[0], want)
	}
	if e.obs.throttled != 0 {
		t.Fatalf("counted %d throttled logins, want 0", e.obs.throttled)
	}
	e.thr.retry = time.Minute
	_, oerr = e.s.Token(context.Background(), TokenRequest{Form: passwordForm("username", "user1@email.com", "password", "testpass123"), Credentials: creds("rs-id", "rs-secret")})
	if oerr == nil || oerr.RetryAfter != time.Minute || e.obs.throttled != 1 {
		t.Fatalf("throttled answer %+v, counted %d; want Retry-After 1m, counted once", oerr, e.obs.throttled)
	}
}
