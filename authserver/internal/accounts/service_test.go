package accounts_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/pbkdf2"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// Django's and DRF's exact wording, written out here rather than taken from
// the code under test.
const (
	required   = "This field is required."
	blank      = "This field may not be blank."
	badEmail   = "Enter a valid email address."
	tooLong254 = "Ensure this field has no more than 254 characters."
	unique     = "This field must be unique."
	mismatch   = "Password fields did not match"
	tooShort   = "This password is too short. It must contain at least 8 characters."
	tooCommon  = "This password is too common."
	numeric    = "This password is entirely numeric."
	oldWrong   = "Old password is incorrect"
	goodPW     = "correct-Horse-battery-9"
)

func fieldErrors(t *testing.T, err error) accounts.FieldErrors {
	t.Helper()
	var fe accounts.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not FieldErrors", err, err)
	}
	return fe
}

func TestSignupValidation(t *testing.T) {
	longEmail := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com" // 259 bytes
	tests := []struct {
		name string
		in   accounts.SignupInput
		want accounts.FieldErrors
	}{
		{"all missing", accounts.SignupInput{},
			accounts.FieldErrors{"email": {required}, "password": {required}, "password2": {required}}},
		{"all blank", accounts.SignupInput{Email: set(""), Password: set(""), Password2: set("")},
			accounts.FieldErrors{"email": {blank}, "password": {blank}, "password2": {blank}}},
		{"email only spaces is blank", accounts.SignupInput{Email: set("   "), Password: set(goodPW), Password2: set(goodPW)},
			accounts.FieldErrors{"email": {blank}}},
		{"tutorial: invalid email, passwords missing", accounts.SignupInput{Email: set("not-an-email")},
			accounts.FieldErrors{"email": {badEmail}, "password": {required}, "password2": {required}}},
		{"invalid email", accounts.SignupInput{Email: set("a@b"), Password: set(goodPW), Password2: set(goodPW)},
			accounts.FieldErrors{"email": {badEmail}}},
		{"email over 254", accounts.SignupInput{Email: set(longEmail), Password: set(goodPW), Password2: set(goodPW)},
			accounts.FieldErrors{"email": {tooLong254}}},
		{"tutorial: weak password", accounts.SignupInput{Email: set("user2@email.com"), Password: set("1234567"), Password2: set("1234567")},
			accounts.FieldErrors{"password": {tooShort, tooCommon, numeric}}},
		{"common password", accounts.SignupInput{Email: set("user2@email.com"), Password: set("password"), Password2: set("password")},
			accounts.FieldErrors{"password": {tooCommon}}},
		{"tutorial: mismatch", accounts.SignupInput{Email: set("user2@email.com"), Password: set(goodPW), Password2: set(goodPW + "x")},
			accounts.FieldErrors{"password2": {mismatch}}},
		{"mismatch not reported with a bad email", accounts.SignupInput{Email: set("bad"), Password: set(goodPW), Password2: set("other-Thing-42")},
			accounts.FieldErrors{"email": {badEmail}}},
		{"mismatch not reported with a weak password", accounts.SignupInput{Email: set("user2@email.com"), Password: set("1234567"), Password2: set("other-Thing-42")},
			accounts.FieldErrors{"password": {tooShort, tooCommon, numeric}}},
		{"mismatch not reported with password2 blank", accounts.SignupInput{Email: set("user2@email.com"), Password: set(goodPW), Password2: set("")},
			accounts.FieldErrors{"password2": {blank}}},
		{"taken email", accounts.SignupInput{Email: set("taken@example.com"), Password: set(goodPW), Password2: set(goodPW)},
			accounts.FieldErrors{"email": {unique}}},
		{"taken email, other case", accounts.SignupInput{Email: set("TAKEN@Example.COM"), Password: set(goodPW), Password2: set(goodPW)},
			accounts.FieldErrors{"email": {unique}}},
		{"taken email and weak password", accounts.SignupInput{Email: set("taken@example.com"), Password: set("password"), Password2: set("password")},
			accounts.FieldErrors{"email": {unique}, "password": {tooCommon}}},
	}
	f := sqliteFixture(t)
	if _, err := f.svc.Signup(testenv.Context(t), accounts.SignupInput{Email: set("taken@example.com"), Password: set(goodPW), Password2: set(goodPW)}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Signup(testenv.Context(t), tt.in)
			if got := fieldErrors(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors = %#v\nwant     %#v", got, tt.want)
			}
		})
	}
	var n int
	if err := f.db.Get(&n, "SELECT COUNT(*) FROM users"); err != nil || n != 1 {
		t.Fatalf("users = %d (%v), want only the first", n, err)
	}
}

func TestSignupCreatesActiveUser(t *testing.T) {
	f := sqliteFixture(t)
	ctx := testenv.Context(t)
	u, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("  Jane.Doe@EXAMPLE.Com "), Password: set(goodPW), Password2: set(goodPW)})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "Jane.Doe@example.com" {
		t.Errorf("returned email %q, want the normalised form", u.Email)
	}
	got, err := f.store.ByEmail(ctx, "jane.doe@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "Jane.Doe@example.com" || !got.IsActive || got.IsStaff || got.IsSuperuser || got.DateJoined.IsZero() {
		t.Errorf("stored user %+v", got)
	}
	if !strings.HasPrefix(got.Password, "$argon2id$") || strings.Contains(got.Password, goodPW) {
		t.Errorf("stored password %q is not an argon2id hash", got.Password)
	}
	if ok, _, err := f.hasher.Verify(context.Background(), got.Password, goodPW); !ok || err != nil {
		t.Errorf("stored hash does not verify: %v %v", ok, err)
	}
}

func TestCreateSuperuser(t *testing.T) {
	f := sqliteFixture(t)
	ctx := testenv.Context(t)
	u, err := f.svc.CreateSuperuser(ctx, "root@Example.com", goodPW, goodPW)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.store.ByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IsStaff || !got.IsSuperuser || !got.IsActive || got.Email != "root@example.com" {
		t.Fatalf("superuser stored as %+v", got)
	}
	tests := []struct {
		name, email, pw, pw2 string
		want                 accounts.FieldErrors
	}{
		{"taken", "ROOT@example.com", goodPW, goodPW, accounts.FieldErrors{"email": {unique}}},
		{"common", "other@example.com", "password", "password", accounts.FieldErrors{"password": {tooCommon}}},
		{"mismatch", "other@example.com", goodPW, "nope-nope-nope", accounts.FieldErrors{"password2": {mismatch}}},
		{"blank email", "", goodPW, goodPW, accounts.FieldErrors{"email": {blank}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateSuperuser(ctx, tt.email, tt.pw, tt.pw2)
			if got := fieldErrors(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	f := sqliteFixture(t)
	ctx := testenv.Context(t)
	if _, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("alice@example.com"), Password: set(goodPW), Password2: set(goodPW)}); err != nil {
		t.Fatal(err)
	}
	inactive, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("gone@example.com"), Password: set(goodPW), Password2: set(goodPW)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetActive(ctx, inactive.ID, false); err != nil {
		t.Fatal(err)
	}
	broken := accounts.User{Email: "broken@example.com", Password: "md5$nope$nope", IsActive: true}
	if err := f.store.Create(ctx, &broken); err != nil {
		t.Fatal(err)
	}

	fails := []struct{ name, email, pw string }{
		{"unknown email", "nobody@example.com", goodPW},
		{"wrong password", "alice@example.com", goodPW + "!"},
		{"empty password", "alice@example.com", ""},
		{"inactive user, right password", "gone@example.com", goodPW},
		{"unreadable stored hash", "broken@example.com", "md5"},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.svc.Authenticate(ctx, tt.email, tt.pw); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("Authenticate = %v, want ErrInvalidCredentials", err)
			}
		})
	}

	t.Run("unknown email still spends the hashing work", func(t *testing.T) {
		before := f.hasher.dummies.Load()
		_, _ = f.svc.Authenticate(ctx, "nobody2@example.com", goodPW)
		if f.hasher.dummies.Load() != before+1 {
			t.Fatal("VerifyDummy was not called for an unknown email")
		}
	})

	t.Run("right password, any email case", func(t *testing.T) {
		for _, e := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", " alice@Example.com "} {
			a, err := f.svc.Authenticate(ctx, e, goodPW)
			if err != nil {
				t.Fatalf("Authenticate(%q): %v", e, err)
			}
			if a.Email != "alice@example.com" {
				t.Fatalf("returned %+v", a)
			}
			if before, _ := f.store.ByID(ctx, a.ID); before.LastLogin != a.LastLogin {
				t.Fatal("Authenticate (the token endpoint's check) wrote last_login")
			}
			u, err := f.svc.Login(ctx, e, goodPW)
			if err != nil || !u.LastLogin.Valid {
				t.Fatalf("Login(%q) = %+v, %v", e, u, err)
			}
			stored, _ := f.store.ByID(ctx, u.ID)
			if !stored.LastLogin.Valid || !stored.LastLogin.Time.Equal(u.LastLogin.Time) {
				t.Fatalf("last_login not recorded: %+v vs %+v", stored.LastLogin, u.LastLogin)
			}
		}
	})

	t.Run("current hash is not rewritten", func(t *testing.T) {
		before, _ := f.store.ByEmail(ctx, "alice@example.com")
		hashes := f.hasher.hashes.Load()
		if _, err := f.svc.Authenticate(ctx, "alice@example.com", goodPW); err != nil {
			t.Fatal(err)
		}
		after, _ := f.store.ByEmail(ctx, "alice@example.com")
		if after.Password != before.Password || f.hasher.hashes.Load() != hashes {
			t.Fatal("a hash with current parameters was rehashed")
		}
	})
}

// djangoPBKDF2 computes a Django pbkdf2_sha256 hash independently of the
// code under test.
func djangoPBKDF2(password, salt string, iter int) string {
	key := pbkdf2.Key([]byte(password), []byte(salt), iter, 32, sha256.New)
	return "pbkdf2_sha256$" + strconv.Itoa(iter) + "$" + salt + "$" + base64.StdEncoding.EncodeToString(key)
}

func TestLegacyHashesAreUpgradedOnLogin(t *testing.T) {
	stale := newHasher(t, passwords.Params{Time: 2, MemoryKiB: 128, Threads: 1, KeyLen: 32, SaltLen: 16})
	staleHash, err := stale.Hash(context.Background(), goodPW)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte(goodPW), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, hash string }{
		{"django pbkdf2_sha256", djangoPBKDF2(goodPW, "tutorialSalt1234", 1000)},
		{"bcrypt", string(bc)},
		{"argon2id with old parameters", staleHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sqliteFixture(t)
			ctx := testenv.Context(t)
			u := accounts.User{Email: "moved@example.com", Password: tt.hash, IsActive: true}
			if err := f.store.Create(ctx, &u); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Authenticate(ctx, "moved@example.com", "wrong-password-1"); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
			if got, _ := f.store.ByID(ctx, u.ID); got.Password != tt.hash {
				t.Fatal("a failed login changed the stored hash")
			}
			if _, err := f.svc.Authenticate(ctx, "moved@example.com", goodPW); err != nil {
				t.Fatalf("legacy hash not accepted: %v", err)
			}
			got, err := f.store.ByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Password == tt.hash || !strings.HasPrefix(got.Password, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Fatalf("hash not upgraded to current argon2id: %q", got.Password)
			}
			upgraded := got.Password
			if _, err := f.svc.Authenticate(ctx, "moved@example.com", goodPW); err != nil {
				t.Fatalf("login after upgrade: %v", err)
			}
			if got, _ := f.store.ByID(ctx, u.ID); got.Password != upgraded {
				t.Fatal("the upgraded hash was rewritten again")
			}
		})
	}
}

func TestChangePassword(t *testing.T) {
	f := sqliteFixture(t)
	ctx := testenv.Context(t)
	u, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set("pat@example.com"), Password: set(goodPW), Password2: set(goodPW)})
	if err != nil {
		t.Fatal(err)
	}
	const newPW = "tr0ubadour-Zebra-77"
	tests := []struct {
		name string
		in   accounts.PasswordChangeInput
		want accounts.FieldErrors
	}{
		{"all missing", accounts.PasswordChangeInput{},
			accounts.FieldErrors{"old_password": {required}, "password": {required}, "password2": {required}}},
		{"new missing", accounts.PasswordChangeInput{OldPassword: set(goodPW)},
			accounts.FieldErrors{"password": {required}, "password2": {required}}},
		{"blank old", accounts.PasswordChangeInput{OldPassword: set(""), Password: set(newPW), Password2: set(newPW)},
			accounts.FieldErrors{"old_password": {blank}}},
		{"wrong old", accounts.PasswordChangeInput{OldPassword: set("nope-nope-1"), Password: set(newPW), Password2: set(newPW)},
			accounts.FieldErrors{"old_password": {oldWrong}}},
		{"weak new", accounts.PasswordChangeInput{OldPassword: set(goodPW), Password: set("12345678"), Password2: set("12345678")},
			accounts.FieldErrors{"password": {tooCommon, numeric}}},
		{"mismatch", accounts.PasswordChangeInput{OldPassword: set(goodPW), Password: set(newPW), Password2: set(newPW + "?")},
			accounts.FieldErrors{"password2": {mismatch}}},
		{"mismatch hidden by wrong old", accounts.PasswordChangeInput{OldPassword: set("nope-nope-1"), Password: set(newPW), Password2: set("x" + newPW)},
			accounts.FieldErrors{"old_password": {oldWrong}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldErrors(t, f.svc.ChangePassword(ctx, u, tt.in)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors = %#v, want %#v", got, tt.want)
			}
			if _, err := f.svc.Authenticate(ctx, "pat@example.com", goodPW); err != nil {
				t.Fatalf("a refused change altered the password: %v", err)
			}
		})
	}

	t.Run("success", func(t *testing.T) {
		if err := f.svc.ChangePassword(ctx, u, accounts.PasswordChangeInput{OldPassword: set(goodPW), Password: set(newPW), Password2: set(newPW)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, "pat@example.com", goodPW); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("old password still works: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, "pat@example.com", newPW); err != nil {
			t.Fatalf("new password refused: %v", err)
		}
	})

	t.Run("deleted user", func(t *testing.T) {
		ghost := u
		ghost.ID = 99999
		err := f.svc.ChangePassword(ctx, ghost, accounts.PasswordChangeInput{OldPassword: set(goodPW), Password: set(newPW + "1"), Password2: set(newPW + "1")})
		if !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("ChangePassword for a missing user = %v, want ErrNotFound", err)
		}
	})
}

// TestSignupRaceSameEmail races signups at the service level on every
// backend: exactly one wins, and every loser gets the unique message.
func TestSignupRaceSameEmail(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL)
			ctx := testenv.Context(t)
			const n = 12
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				email := "race@example.com"
				if i%2 == 1 {
					email = "RACE@Example.com"
				}
				go func() {
					_, err := f.svc.Signup(ctx, accounts.SignupInput{Email: set(email), Password: set(goodPW), Password2: set(goodPW)})
					errs <- err
				}()
			}
			wins := 0
			for i := 0; i < n; i++ {
				err := <-errs
				if err == nil {
					wins++
					continue
				}
				var fe accounts.FieldErrors
				if !errors.As(err, &fe) || !reflect.DeepEqual(fe, accounts.FieldErrors{"email": {unique}}) {
					t.Errorf("loser got %v, want the unique field error", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d signups won, want exactly 1", wins)
			}
		})
	}
}
