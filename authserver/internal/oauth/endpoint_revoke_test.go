package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

func TestRevoke(t *testing.T) {
	for _, tc := range []struct {
		name      string
		client    Credentials
		form      url.Values
		revokeErr error
		code      string
		status    int
		revoked   *revokeCall
	}{
		{name: "an access token", client: creds("rs-id", "rs-secret"), form: url.Values{"token": {"pcat_x"}},
			revoked: &revokeCall{"pcat_x", "", "rs-id"}},
		{name: "a refresh token with its hint", client: creds("rs-id", "rs-secret"), form: url.Values{"token": {"pcrt_x"}, "token_type_hint": {"refresh_token"}},
			revoked: &revokeCall{"pcrt_x", "refresh_token", "rs-id"}},
		{name: "a public client by its id", client: Credentials{ClientID: "spa"}, form: url.Values{"token": {"pcat_x"}},
			revoked: &revokeCall{"pcat_x", "", "spa"}},
		{name: "an unknown or foreign token still succeeds (RFC 7009 §2.2)", client: creds("rs-id", "rs-secret"), form: url.Values{"token": {"pcat_other"}},
			revokeErr: nil, revoked: &revokeCall{"pcat_other", "", "rs-id"}},
		{name: "no client", client: Credentials{}, form: url.Values{"token": {"pcat_x"}},
			code: CodeInvalidClient, status: http.StatusUnauthorized},
		{name: "a wrong secret", client: creds("rs-id", "nope"), form: url.Values{"token": {"pcat_x"}},
			code: CodeInvalidClient, status: http.StatusUnauthorized},
		{name: "no token", client: creds("rs-id", "rs-secret"), form: url.Values{},
			code: CodeInvalidRequest, status: http.StatusBadRequest},
		{name: "the token twice", client: creds("rs-id", "rs-secret"), form: url.Values{"token": {"a", "b"}},
			code: CodeInvalidRequest, status: http.StatusBadRequest},
		{name: "the store is down", client: creds("rs-id", "rs-secret"), form: url.Values{"token": {"pcat_x"}},
			revokeErr: fmt.Errorf("revoke: %w", tokens.ErrUnavailable), revoked: &revokeCall{"pcat_x", "", "rs-id"},
			code: CodeTemporarilyUnavail, status: http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUnitEnv()
			e.tok.revokeErr = tc.revokeErr
			oerr := e.s.Revoke(context.Background(), RevokeRequest{Form: tc.form, Credentials: tc.client})
			switch {
			case tc.revoked == nil && len(e.tok.revoked) != 0:
				t.Fatalf("the store was asked to revoke %+v", e.tok.revoked)
			case tc.revoked != nil && (len(e.tok.revoked) != 1 || e.tok.revoked[0] != *tc.revoked):
				t.Fatalf("revocations %+v, want one %+v", e.tok.revoked, *tc.revoked)
			}
			if tc.code == "" {
				if oerr != nil {
					t.Fatalf("got %v, want success", oerr)
				}
				return
			}
			if oerr == nil || oerr.Code != tc.code || oerr.Status != tc.status {
				t.Fatalf("got %v, want %s (%d)", oerr, tc.code, tc.status)
			}
		})
	}
}
