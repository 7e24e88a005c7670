package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
)

// Hasher hashes and verifies passwords; *passwords.Hasher implements it.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, password string) error
}

// Validator returns Django-style messages for a weak password ("" email
// skips the similarity check); passwords.Validate implements it.
type Validator func(password, email string) []string

// Service is the set of account operations. Safe for concurrent use.
type Service struct {
	store    *Store
	hasher   Hasher
	validate Validator
	log      *slog.Logger
	now      func() time.Time
}

// NewService wires a Service.
func NewService(store *Store, hasher Hasher, validate Validator, log *slog.Logger) *Service {
	return &Service{store: store, hasher: hasher, validate: validate, log: log, now: time.Now}
}

// Store returns the underlying store.
func (s *Service) Store() *Store { return s.store }

// Field is one submitted value: Set is false when the field was absent.
type Field struct {
	Value string
	Set   bool
}

// SignupInput is the body of POST /users/signup/.
type SignupInput struct{ Email, Password, Password2 Field }

// PasswordChangeInput is the body of PUT /users/password/.
type PasswordChangeInput struct{ OldPassword, Password, Password2 Field }

// required records DRF's "required" or "blank" message and reports whether
// the field has a usable value.
func required(fe FieldErrors, name string, f Field) bool {
	switch {
	case !f.Set:
		fe.Add(name, MsgRequired)
	case f.Value == "":
		fe.Add(name, MsgBlank)
	default:
		return true
	}
	return false
}

// checkEmail validates and normalises an email field into fe.
func checkEmail(fe FieldErrors, f Field) string {
	if !required(fe, "email", Field{Value: strings.TrimSpace(f.Value), Set: f.Set}) {
		return ""
	}
	email := NormalizeEmail(f.Value)
	switch {
	case len(email) > MaxEmailLength:
		fe.Add("email", MsgEmailTooLong)
	case !ValidEmail(email):
		fe.Add("email", MsgInvalidEmail)
	}
	return email
}

// Signup validates in and creates an active, non-staff user. Validation
// problems (including a taken email, also when two signups race) come back
// as FieldErrors; other errors are infrastructure failures.
func (s *Service) Signup(ctx context.Context, in SignupInput) (User, error) {
	return s.create(ctx, in.Email, in.Password, in.Password2, false)
}

// CreateSuperuser creates an active staff superuser, applying the same
// validation as Signup.
func (s *Service) CreateSuperuser(ctx context.Context, email, password, password2 string) (User, error) {
	f := func(v string) Field { return Field{Value: v, Set: true} }
	return s.create(ctx, f(email), f(password), f(password2), true)
}

func (s *Service) create(ctx context.Context, emailF, pw, pw2 Field, super bool) (User, error) {
	fe := FieldErrors{}
	email := checkEmail(fe, emailF)
	if _, bad := fe["email"]; !bad {
		taken, err := s.store.EmailTaken(ctx, email)
		if err != nil {
			return User{}, err
		}
		if taken {
			fe.Add("email", MsgUnique)
		}
	}
	if required(fe, "password", pw) {
		for _, m := range s.validate(pw.Value, email) {
			fe.Add("password", m)
		}
	}
	required(fe, "password2", pw2)
	if len(fe) > 0 {
		return User{}, fe
	}
	if pw.Value != pw2.Value {
		return User{}, FieldErrors{"password2": {MsgMismatch}}
	}
	hash, err := s.hasher.Hash(ctx, pw.Value)
	if err != nil {
		return User{}, fmt.Errorf("accounts: hash: %w", err)
	}
	u := User{Email: email, Password: hash, IsActive: true, IsStaff: super, IsSuperuser: super, DateJoined: s.now().UTC()}
	if err := s.store.Create(ctx, &u); err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return User{}, FieldErrors{"email": {MsgUnique}}
		}
		return User{}, err
	}
	return u, nil
}

// Authenticate checks an email and password. Unknown email, wrong password
// and inactive user all return ErrInvalidCredentials, and an unknown email
// spends the same hashing work as a known one. A hash in an older format or
// with older parameters is upgraded on success. Like Django's
// authenticate(), it does not touch last_login: the token endpoint calls it
// on every password grant, and Login records browser logins.
func (s *Service) Authenticate(ctx context.Context, email, password string) (User, error) {
	u, err := s.store.ByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return User{}, fmt.Errorf("accounts: authenticate: %w", err)
		}
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, err
	}
	ok, rehash, err := s.hasher.Verify(ctx, u.Password, password)
	if passwords.Refused(err) {
		return User{}, fmt.Errorf("accounts: authenticate: %w", err)
	}
	if err != nil {
		s.log.WarnContext(ctx, "stored password hash is unreadable", "user_id", u.ID, "error", err)
		return User{}, ErrInvalidCredentials
	}
	if !ok || !u.IsActive {
		return User{}, ErrInvalidCredentials
	}
	if rehash {
		upgraded, err := s.hasher.Hash(ctx, password)
		if err != nil {
			return User{}, fmt.Errorf("accounts: rehash: %w", err)
		}
		if err := s.store.SetPassword(ctx, u.ID, upgraded); err != nil {
			return User{}, err
		}
		u.Password = upgraded
	}
	return u, nil
}

// Login is Authenticate for a browser session: on success it also records
// last_login, as Django's login() does.
func (s *Service) Login(ctx context.Context, email, password string) (User, error) {
	u, err := s.Authenticate(ctx, email, password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	if err := s.store.RecordLogin(ctx, u.ID, now, ""); err != nil {
		return User{}, err
	}
	u.LastLogin.Time, u.LastLogin.Valid = now, true
	return u, nil
}

// ChangePassword checks in against u and stores the new password. Problems
// come back as FieldErrors, in DRF's order: field errors first, then the
// mismatch of the two new passwords.
func (s *Service) ChangePassword(ctx context.Context, u User, in PasswordChangeInput) error {
	fe := FieldErrors{}
	if required(fe, "old_password", in.OldPassword) {
		ok, _, err := s.hasher.Verify(ctx, u.Password, in.OldPassword.Value)
		if passwords.Refused(err) {
			return fmt.Errorf("accounts: change password: %w", err)
		}
		if err != nil || !ok {
			fe.Add("old_password", MsgOldIncorrect)
		}
	}
	if required(fe, "password", in.Password) {
		for _, m := range s.validate(in.Password.Value, u.Email) {
			fe.Add("password", m)
		}
	}
	required(fe, "password2", in.Password2)
	if len(fe) > 0 {
		return fe
	}
	if in.Password.Value != in.Password2.Value {
		return FieldErrors{"password2": {MsgMismatch}}
	}
	hash, err := s.hasher.Hash(ctx, in.Password.Value)
	if err != nil {
		return fmt.Errorf("accounts: hash: %w", err)
	}
	return s.store.SetPassword(ctx, u.ID, hash)
}
