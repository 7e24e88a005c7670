package accounts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// TestBusyHasherIsNoVerdict: a password check the hasher refused (its queue
// full) is an outage to retry, never "invalid credentials" or "old password
// incorrect", and writes nothing. An unknown email is refused the same way
// as a known one, so the refusal tells nothing about which emails exist.
func TestBusyHasherIsNoVerdict(t *testing.T) {
	f := sqliteFixture(t)
	ctx := testenv.Context(t)
	u, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("alice@example.com"), Password: set(goodPW), Password2: set(goodPW)})
	if err != nil {
		t.Fatal(err)
	}
	f.hasher.busy.Store(true)

	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		_, err := f.svc.Authenticate(ctx, email, goodPW)
		if !errors.Is(err, passwords.ErrBusy) || errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("Authenticate(%s) with a busy hasher: %v, want ErrBusy", email, err)
		}
	}
	err = f.svc.ChangePassword(ctx, u, accounts.PasswordChangeInput{OldPassword: set(goodPW), Password: set("new-Horse-battery-10"), Password2: set("new-Horse-battery-10")})
	var fe accounts.FieldErrors
	if !errors.Is(err, passwords.ErrBusy) || errors.As(err, &fe) {
		t.Fatalf("ChangePassword with a busy hasher: %v, want ErrBusy", err)
	}
	if _, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("bob@example.com"), Password: set(goodPW), Password2: set(goodPW)}); !errors.Is(err, passwords.ErrBusy) {
		t.Fatalf("Signup with a busy hasher: %v, want ErrBusy", err)
	}
	if _, err := f.store.ByEmail(ctx, "bob@example.com"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("a refused signup wrote a user (ByEmail: %v)", err)
	}
	f.hasher.busy.Store(false)
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", goodPW); err != nil {
		t.Fatalf("the password was changed by a refused change: %v", err)
	}
}

// TestAbandonedCheckIsNoVerdict: a password check that left the hasher's
// queue because its request's context ended (the client hung up) is no
// verdict either: not "invalid credentials", not "old password incorrect",
// and the password is not changed.
func TestAbandonedCheckIsNoVerdict(t *testing.T) {
	f := sqliteFixture(t)
	ctx := testenv.Context(t)
	u, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("alice@example.com"), Password: set(goodPW), Password2: set(goodPW)})
	if err != nil {
		t.Fatal(err)
	}
	f.hasher.abandoned.Store(true)
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", goodPW); !errors.Is(err, context.Canceled) || errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("Authenticate with an abandoned check: %v, want context.Canceled", err)
	}
	err = f.svc.ChangePassword(ctx, u, accounts.PasswordChangeInput{OldPassword: set(goodPW), Password: set("new-Horse-battery-10"), Password2: set("new-Horse-battery-10")})
	var fe accounts.FieldErrors
	if !errors.Is(err, context.Canceled) || errors.As(err, &fe) {
		t.Fatalf("ChangePassword with an abandoned check: %v, want context.Canceled", err)
	}
	f.hasher.abandoned.Store(false)
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", goodPW); err != nil {
		t.Fatalf("the password was changed by an abandoned change: %v", err)
	}
}
