package accounts_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// TestRefusedCheckIsNoVerdict: a password check the hasher refused, because
// its queue was full (ErrBusy) or because the request's context ended while
// it waited (the client hung up), is an outage to retry, never "invalid
// credentials" or "old password incorrect", and writes nothing. An unknown
// email is refused the same way as a known one, so the refusal tells
// nothing about which emails exist.
func TestRefusedCheckIsNoVerdict(t *testing.T) {
	for _, tt := range []struct {
		name   string
		refuse func(*countingHasher) *atomic.Bool
		want   error
	}{
		{"busy", func(h *countingHasher) *atomic.Bool { return &h.busy }, passwords.ErrBusy},
		{"abandoned", func(h *countingHasher) *atomic.Bool { return &h.abandoned }, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := sqliteFixture(t)
			ctx := testenv.Context(t)
			u, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("alice@example.com"), Password: set(goodPW), Password2: set(goodPW)})
			if err != nil {
				t.Fatal(err)
			}
			tt.refuse(f.hasher).Store(true)

			for _, email := range []string{"alice@example.com", "nobody@example.com"} {
				_, err := f.svc.Authenticate(ctx, email, goodPW)
				if !errors.Is(err, tt.want) || errors.Is(err, accounts.ErrInvalidCredentials) {
					t.Fatalf("Authenticate(%s) with a refused check: %v, want %v", email, err, tt.want)
				}
			}
			err = f.svc.ChangePassword(ctx, u, accounts.PasswordChangeInput{OldPassword: set(goodPW), Password: set("new-Horse-battery-10"), Password2: set("new-Horse-battery-10")})
			var fe accounts.FieldErrors
			if !errors.Is(err, tt.want) || errors.As(err, &fe) {
				t.Fatalf("ChangePassword with a refused check: %v, want %v", err, tt.want)
			}
			if _, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("bob@example.com"), Password: set(goodPW), Password2: set(goodPW)}); !errors.Is(err, tt.want) {
				t.Fatalf("Signup with a refused check: %v, want %v", err, tt.want)
			}
			if _, err := f.store.ByEmail(ctx, "bob@example.com"); !errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("a refused signup wrote a user (ByEmail: %v)", err)
			}
			tt.refuse(f.hasher).Store(false)
			if _, err := f.svc.Authenticate(ctx, "alice@example.com", goodPW); err != nil {
				t.Fatalf("the password was changed by a refused change: %v", err)
			}
		})
	}
}
