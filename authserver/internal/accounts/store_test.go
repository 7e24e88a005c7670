package accounts_test

import (
	"errors"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// TestStoreContract runs the same checks against every backend.
func TestStoreContract(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := testenv.DB(t, b.URL)
			// Migrating an already migrated database changes nothing.
			if err := db.Migrate(testenv.Context(t)); err != nil {
				t.Fatalf("second migrate: %v", err)
			}
			st := accounts.NewStore(db)

			t.Run("create and read back", func(t *testing.T) {
				ctx := testenv.Context(t)
				joined := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.FixedZone("CET", 3600))
				u := accounts.User{Email: "Alice@example.com", Password: "$argon2id$fake", IsActive: true, IsStaff: true, DateJoined: joined}
				if err := st.Create(ctx, &u); err != nil {
					t.Fatal(err)
				}
				if u.ID == 0 {
					t.Fatal("Create did not set ID")
				}
				if u.EmailKey != "alice@example.com" {
					t.Errorf("EmailKey = %q", u.EmailKey)
				}
				byID, err := st.ByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				byEmail, err := st.ByEmail(ctx, "Alice@example.com")
				if err != nil {
					t.Fatal(err)
				}
				for name, got := range map[string]accounts.User{"ByID": byID, "ByEmail": byEmail} {
					if got.ID != u.ID || got.Email != "Alice@example.com" || got.Password != "$argon2id$fake" ||
						!got.IsActive || !got.IsStaff || got.IsSuperuser {
						t.Errorf("%s = %+v", name, got)
					}
					if !got.DateJoined.Equal(joined) {
						t.Errorf("%s: DateJoined = %v, want %v", name, got.DateJoined, joined)
					}
					if got.LastLogin.Valid {
						t.Errorf("%s: LastLogin set on a new user: %v", name, got.LastLogin)
					}
				}
			})

			t.Run("zero date_joined is set to now", func(t *testing.T) {
				ctx := testenv.Context(t)
				before := time.Now().Add(-time.Second)
				u := accounts.User{Email: "zero@example.com", Password: "h", IsActive: true}
				if err := st.Create(ctx, &u); err != nil {
					t.Fatal(err)
				}
				got, err := st.ByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.DateJoined.Before(before) || got.DateJoined.After(time.Now().Add(time.Second)) {
					t.Fatalf("DateJoined = %v, want about now", got.DateJoined)
				}
			})

			t.Run("email unique case-insensitively", func(t *testing.T) {
				ctx := testenv.Context(t)
				first := accounts.User{Email: "User@x.com", Password: "h", IsActive: true}
				if err := st.Create(ctx, &first); err != nil {
					t.Fatal(err)
				}
				for _, e := range []string{"user@x.com", "USER@x.com", "User@x.com"} {
					u := accounts.User{Email: e, Password: "h"}
					if err := st.Create(ctx, &u); !errors.Is(err, accounts.ErrEmailTaken) {
						t.Errorf("Create(%q) = %v, want ErrEmailTaken", e, err)
					}
				}
				for _, e := range []string{"user@x.com", "USER@X.COM", "  User@X.com  "} {
					got, err := st.ByEmail(ctx, e)
					if err != nil || got.ID != first.ID {
						t.Errorf("ByEmail(%q) = %v, %v; want user %d", e, got.ID, err, first.ID)
					}
					taken, err := st.EmailTaken(ctx, e)
					if err != nil || !taken {
						t.Errorf("EmailTaken(%q) = %v, %v", e, taken, err)
					}
				}
				taken, err := st.EmailTaken(ctx, "nobody@x.com")
				if err != nil || taken {
					t.Errorf("EmailTaken(nobody) = %v, %v", taken, err)
				}
			})

			t.Run("not found", func(t *testing.T) {
				ctx := testenv.Context(t)
				if _, err := st.ByID(ctx, 987654); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("ByID = %v", err)
				}
				if _, err := st.ByEmail(ctx, "ghost@example.com"); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("ByEmail = %v", err)
				}
				if err := st.SetPassword(ctx, 987654, "h"); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("SetPassword = %v", err)
				}
				if err := st.SetActive(ctx, 987654, false); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("SetActive = %v", err)
				}
				if err := st.RecordLogin(ctx, 987654, time.Now(), ""); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("RecordLogin = %v", err)
				}
				if err := st.RecordLogin(ctx, 987654, time.Now(), "new"); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("RecordLogin(rehash) = %v", err)
				}
			})

			t.Run("set password, record login, set active", func(t *testing.T) {
				ctx := testenv.Context(t)
				u := accounts.User{Email: "bob@example.com", Password: "old", IsActive: true}
				if err := st.Create(ctx, &u); err != nil {
					t.Fatal(err)
				}
				other := accounts.User{Email: "carol@example.com", Password: "carol", IsActive: true}
				if err := st.Create(ctx, &other); err != nil {
					t.Fatal(err)
				}
				get := func() accounts.User {
					t.Helper()
					g, err := st.ByID(ctx, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					return g
				}
				if err := st.SetPassword(ctx, u.ID, "new"); err != nil {
					t.Fatal(err)
				}
				if g := get(); g.Password != "new" {
					t.Fatalf("password = %q after SetPassword", g.Password)
				}

				at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
				if err := st.RecordLogin(ctx, u.ID, at, ""); err != nil {
					t.Fatal(err)
				}
				g := get()
				if !g.LastLogin.Valid || !g.LastLogin.Time.Equal(at) {
					t.Fatalf("LastLogin = %+v, want %v", g.LastLogin, at)
				}
				if g.Password != "new" {
					t.Fatalf("RecordLogin without rehash changed the password to %q", g.Password)
				}

				at2 := at.Add(time.Hour)
				if err := st.RecordLogin(ctx, u.ID, at2, "upgraded"); err != nil {
					t.Fatal(err)
				}
				g = get()
				if !g.LastLogin.Time.Equal(at2) || g.Password != "upgraded" {
					t.Fatalf("after RecordLogin with rehash: last_login %v, password %q", g.LastLogin.Time, g.Password)
				}

				if err := st.SetActive(ctx, u.ID, false); err != nil {
					t.Fatal(err)
				}
				if get().IsActive {
					t.Fatal("still active after SetActive(false)")
				}
				if err := st.SetActive(ctx, u.ID, true); err != nil {
					t.Fatal(err)
				}
				if !get().IsActive {
					t.Fatal("inactive after SetActive(true)")
				}

				// None of it touched the other user.
				o, err := st.ByID(ctx, other.ID)
				if err != nil {
					t.Fatal(err)
				}
				if o.Password != "carol" || !o.IsActive || o.LastLogin.Valid {
					t.Fatalf("another user changed: %+v", o)
				}
			})

			t.Run("setting an unchanged value is not ErrNotFound", func(t *testing.T) {
				ctx := testenv.Context(t)
				u := accounts.User{Email: "same@example.com", Password: "h", IsActive: true}
				if err := st.Create(ctx, &u); err != nil {
					t.Fatal(err)
				}
				if err := st.SetActive(ctx, u.ID, true); err != nil {
					t.Fatalf("SetActive to the current value: %v", err)
				}
				if err := st.SetPassword(ctx, u.ID, "h"); err != nil {
					t.Fatalf("SetPassword to the current value: %v", err)
				}
			})
		})
	}
}
