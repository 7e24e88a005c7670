package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

func TestGrantRefresh(t *testing.T) {
	form := func(kv ...string) url.Values {
		f := url.Values{"grant_type": {"refresh_token"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	for _, tc := range []struct {
		name      string
		client    Credentials
		form      url.Values
		rotateErr error
		code      string
		status    int
		rotated   *rotateCall // the store call expected, if any
		wantScope string
	}{
		{name: "rotation", client: creds("rs-id", "rs-secret"), form: form("refresh_token", "pcrt_old"),
			rotated: &rotateCall{"pcrt_old", "rs-id", ""}, wantScope: "read write"},
		{name: "narrowing the scope", client: creds("rs-id", "rs-secret"), form: form("refresh_token", "pcrt_old", "scope", "read"),
			rotated: &rotateCall{"pcrt_old", "rs-id", "read"}, wantScope: "read"},
		{name: "a password client may refresh, as in DOT", client: creds("pw", "pw-secret"), form: form("refresh_token", "pcrt_old"),
			rotated: &rotateCall{"pcrt_old", "pw", ""}, wantScope: "read write"},
		{name: "missing refresh_token", client: creds("rs-id", "rs-secret"), form: form(),
			code: CodeInvalidRequest, status: http.StatusBadRequest},
		{name: "a client_credentials client has no refresh tokens", client: creds("cc", "cc-secret"), form: form("refresh_token", "pcrt_old"),
			code: CodeUnauthorizedClient, status: http.StatusBadRequest},
		{name: "a malformed scope", client: creds("rs-id", "rs-secret"), form: form("refresh_token", "pcrt_old", "scope", "read\x00"),
			code: CodeInvalidScope, status: http.StatusBadRequest},
		{name: "widening the scope", client: creds("rs-id", "rs-secret"), form: form("refresh_token", "pcrt_old", "scope", "read write introspection"),
			rotateErr: tokens.ErrScope, rotated: &rotateCall{"pcrt_old", "rs-id", "read write introspection"}, code: CodeInvalidScope, status: http.StatusBadRequest},
		{name: "unknown, expired or another client's token", client: creds("rs-id", "rs-secret"), form: form("refresh_token", "pcrt_nope"),
			rotateErr: tokens.ErrNotFound, rotated: &rotateCall{"pcrt_nope", "rs-id", ""}, code: CodeInvalidGrant, status: http.StatusBadRequest},
		{name: "a replayed token", client: creds("rs-id", "rs-secret"), form: form("refresh_token", "pcrt_used"),
			rotateErr: tokens.ErrReplayed, rotated: &rotateCall{"pcrt_used", "rs-id", ""}, code: CodeInvalidGrant, status: http.StatusBadRequest},
		{name: "the store is down", client: creds("rs-id", "rs-secret"), form: form("refresh_token", "pcrt_old"),
			rotateErr: fmt.Errorf("rotate: %w", tokens.ErrUnavailable), rotated: &rotateCall{"pcrt_old", "rs-id", ""}, code: CodeTemporarilyUnavail, status: http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUnitEnv()
			e.tok.rotateErr = tc.rotateErr
			resp, oerr := e.s.Token(context.Background(), TokenRequest{Form: tc.form, Credentials: tc.client})
			switch {
			case tc.rotated == nil && len(e.tok.rotated) != 0:
				t.Fatalf("the store was asked to rotate %+v", e.tok.rotated)
			case tc.rotated != nil && (len(e.tok.rotated) != 1 || e.tok.rotated[0] != *tc.rotated):
				t.Fatalf("rotations %+v, want one %+v", e.tok.rotated, *tc.rotated)
			}
			if tc.code != "" {
				if oerr == nil || oerr.Code != tc.code || oerr.Status != tc.status {
					t.Fatalf("got %+v, %v; want %s (%d)", resp, oerr, tc.code, tc.status)
				}
				if e.obs.issued["refresh_token"] != 0 {
					t.Fatal("a refused refresh was counted as issued")
				}
				return
			}
			if oerr != nil {
				t.Fatal(oerr)
			}
			if resp.AccessToken != "pcat_rotated" || resp.RefreshToken != "pcrt_rotated" || resp.Scope != tc.wantScope {
				t.Fatalf("response %+v", resp)
			}
			if e.obs.issued["refresh_token"] != 1 {
				t.Fatalf("issued counts %v, want refresh_token 1", e.obs.issued)
			}
		})
	}
}
