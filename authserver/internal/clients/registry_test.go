package clients_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// countingSlow is a SlowHasher fake: real argon2id underneath, every call
// counted, so a test can see whether the slow path ran.
type countingSlow struct {
	h                *passwords.Hasher
	hashes, verifies atomic.Int64
}

func newCountingSlow(t testing.TB) *countingSlow {
	h, err := passwords.NewHasher(testenv.CheapArgon)
	if err != nil {
		t.Fatal(err)
	}
	return &countingSlow{h: h}
}

func (c *countingSlow) Hash(ctx context.Context, s string) (string, error) {
	c.hashes.Add(1)
	return c.h.Hash(ctx, s)
}
func (c *countingSlow) Verify(ctx context.Context, e, s string) (bool, bool, error) {
	c.verifies.Add(1)
	return c.h.Verify(ctx, e, s)
}

var _ clients.SlowHasher = (*countingSlow)(nil)

type regFixture struct {
	store *clients.Store
	slow  *countingSlow
	reg   *clients.Registry
}

func newReg(t testing.TB, ttl time.Duration) *regFixture {
	t.Helper()
	st := clients.NewStore(testenv.DB(t, testenv.SQLiteURL(t)))
	slow := newCountingSlow(t)
	return &regFixture{store: st, slow: slow, reg: clients.NewRegistry(st, slow, ttl)}
}

func (f *regFixture) add(t testing.TB, c clients.Client) clients.Client {
	t.Helper()
	if err := f.store.Create(testenv.Context(t), &c); err != nil {
		t.Fatalf("create %s: %v", c.ClientID, err)
	}
	return c
}

func TestRegistryAuthenticate(t *testing.T) {
	f := newReg(t, time.Minute)
	ctx := testenv.Context(t)
	generated := clients.GenerateSecret()
	f.add(t, clients.Client{ClientID: "gen", Name: "gen", Type: clients.Confidential, GrantTypesRaw: "client_credentials",
		SecretHash: clients.HashGeneratedSecret(generated)})
	chosenHash, err := f.reg.HashSecret("rs-secret", false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(chosenHash, "$argon2id$") {
		t.Fatalf("a chosen secret is stored as %q, want argon2id", chosenHash)
	}
	f.add(t, clients.Client{ClientID: "rs-id", Name: "resource-server", Type: clients.Confidential, GrantTypesRaw: "password,refresh_token", SecretHash: chosenHash})
	f.add(t, clients.Client{ClientID: "spa", Name: "spa", Type: clients.Public, GrantTypesRaw: "password"})
	f.add(t, clients.Client{ClientID: "nohash", Name: "nohash", Type: clients.Confidential, GrantTypesRaw: "password"})

	tests := []struct {
		name, id, secret string
		sent             bool
		ok               bool
	}{
		{"generated, right", "gen", generated, true, true},
		{"generated, wrong", "gen", generated[:len(generated)-1] + "x", true, false},
		{"generated, missing", "gen", "", false, false},
		{"generated, empty sent", "gen", "", true, false},
		{"chosen, right", "rs-id", "rs-secret", true, true},
		{"chosen, wrong", "rs-id", "rs-secret2", true, false},
		{"chosen, missing", "rs-id", "", false, false},
		{"chosen, secret not flagged as sent", "rs-id", "rs-secret", false, false},
		{"public, id only", "spa", "", false, true},
		{"public, empty secret field", "spa", "", true, true},
		{"public with a secret", "spa", "anything", true, false},
		{"confidential with no stored hash", "nohash", "", true, false},
		{"unknown client", "ghost", "x", true, false},
		{"unknown client, no secret", "ghost", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.reg.Authenticate(ctx, tt.id, tt.secret, tt.sent)
			if tt.ok {
				if err != nil || c.ClientID != tt.id {
					t.Fatalf("Authenticate = %q, %v; want success", c.ClientID, err)
				}
				return
			}
			if !errors.Is(err, clients.ErrInvalidClient) {
				t.Fatalf("Authenticate = %v, want ErrInvalidClient", err)
			}
			if c.ClientID != "" {
				t.Fatalf("a failed authentication returned client %q", c.ClientID)
			}
		})
	}
}

func TestGeneratedSecretNeverUsesTheSlowHasher(t *testing.T) {
	f := newReg(t, time.Minute)
	s := clients.GenerateSecret()
	h, err := f.reg.HashSecret(s, true)
	if err != nil {
		t.Fatal(err)
	}
	f.add(t, clients.Client{ClientID: "gen", Name: "gen", Type: clients.Confidential, GrantTypesRaw: "password", SecretHash: h})
	for i := 0; i < 3; i++ {
		if _, err := f.reg.Authenticate(testenv.Context(t), "gen", s, true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.Authenticate(testenv.Context(t), "gen", s+"x", true); !errors.Is(err, clients.ErrInvalidClient) {
			t.Fatal(err)
		}
	}
	if n := f.slow.hashes.Load() + f.slow.verifies.Load(); n != 0 {
		t.Fatalf("the slow hasher ran %d times for a generated secret", n)
	}
}

func TestChosenSecretPositiveCache(t *testing.T) {
	f := newReg(t, time.Minute)
	ctx := testenv.Context(t)
	h, _ := f.reg.HashSecret("rs-secret", false)
	f.add(t, clients.Client{ClientID: "rs-id", Name: "rs", Type: clients.Confidential, GrantTypesRaw: "password", SecretHash: h})

	auth := func(secret string) error {
		_, err := f.reg.Authenticate(ctx, "rs-id", secret, true)
		return err
	}
	if err := auth("rs-secret"); err != nil {
		t.Fatal(err)
	}
	if n := f.slow.verifies.Load(); n != 1 {
		t.Fatalf("first authentication ran %d slow verifications, want 1", n)
	}
	for i := 0; i < 5; i++ {
		if err := auth("rs-secret"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.slow.verifies.Load(); n != 1 {
		t.Fatalf("repeat authentications ran the slow hash again: %d verifications, want 1", n)
	}

	// A wrong secret is never served from the cache, and failures are not
	// cached as successes.
	for i := 0; i < 2; i++ {
		if err := auth("rs-secreT"); !errors.Is(err, clients.ErrInvalidClient) {
			t.Fatalf("wrong secret: %v", err)
		}
	}
	if n := f.slow.verifies.Load(); n != 3 {
		t.Fatalf("wrong secrets ran %d slow verifications in all, want 3", n)
	}

	// The secret changes: the old secret no longer works (the cached
	// verification was for the old hash), the new one is verified afresh.
	if err := f.store.Delete(ctx, "rs-id"); err != nil {
		t.Fatal(err)
	}
	h2, _ := f.reg.HashSecret("rs-secret-2", false)
	f.add(t, clients.Client{ClientID: "rs-id", Name: "rs", Type: clients.Confidential, GrantTypesRaw: "password", SecretHash: h2})
	f.reg.Forget("rs-id")
	before := f.slow.verifies.Load()
	if err := auth("rs-secret"); !errors.Is(err, clients.ErrInvalidClient) {
		t.Fatalf("old secret after rotation: %v, want ErrInvalidClient", err)
	}
	if f.slow.verifies.Load() != before+1 {
		t.Fatal("the old secret was answered from the cache after the hash changed")
	}
	if err := auth("rs-secret-2"); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	if f.slow.verifies.Load() != before+2 {
		t.Fatal("the new secret was not verified with the slow hasher")
	}

	// VerifySecret sees a changed hash on the Client value directly, too.
	c := clients.Client{ClientID: "rs-id", SecretHash: h}
	if !f.reg.VerifySecret(c, "rs-secret") {
		t.Fatal("VerifySecret refused the right secret for the old hash")
	}
	c.SecretHash = h2
	if f.reg.VerifySecret(c, "rs-secret") {
		t.Fatal("VerifySecret accepted the old secret against the new hash")
	}
	// Same hash, another client id: not served from rs-id's cache entry.
	before = f.slow.verifies.Load()
	if !f.reg.VerifySecret(clients.Client{ClientID: "other", SecretHash: h2}, "rs-secret-2") {
		t.Fatal("VerifySecret refused")
	}
	if f.slow.verifies.Load() != before+1 {
		t.Fatal("a verification for one client id was reused for another")
	}
}

func TestRegistryCachesAndForgets(t *testing.T) {
	f := newReg(t, time.Minute)
	ctx := testenv.Context(t)
	f.add(t, clients.Client{ClientID: "spa", Name: "spa", Type: clients.Public, GrantTypesRaw: "password"})
	if _, err := f.reg.Get(ctx, "spa"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Delete(ctx, "spa"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Get(ctx, "spa"); err != nil {
		t.Fatalf("within the TTL the cached client should still be served: %v", err)
	}
	f.reg.Forget("spa")
	if _, err := f.reg.Get(ctx, "spa"); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("after Forget: %v, want ErrNotFound", err)
	}
	if _, err := f.reg.Authenticate(ctx, "spa", "", false); !errors.Is(err, clients.ErrInvalidClient) {
		t.Fatalf("deleted client authenticated: %v", err)
	}
}

// A TTL of 0 (CLIENT_CACHE_TTL=0) must mean "do not cache", not "cache
// forever": a client deleted by another process must stop authenticating.
func TestRegistryZeroTTLDoesNotCache(t *testing.T) {
	f := newReg(t, 0)
	ctx := testenv.Context(t)
	f.add(t, clients.Client{ClientID: "spa", Name: "spa", Type: clients.Public, GrantTypesRaw: "password"})
	if _, err := f.reg.Authenticate(ctx, "spa", "", false); err != nil {
		t.Fatal(err)
	}
	// Deleted elsewhere: no Forget in this process.
	if err := f.store.Delete(ctx, "spa"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Authenticate(ctx, "spa", "", false); !errors.Is(err, clients.ErrInvalidClient) {
		t.Fatalf("with TTL 0 a deleted client still authenticates: %v", err)
	}
}

func TestRegistryStoreErrorIsNotInvalidClient(t *testing.T) {
	db := testenv.DB(t, testenv.SQLiteURL(t))
	reg := clients.NewRegistry(clients.NewStore(db), newCountingSlow(t), time.Minute)
	_ = db.Close()
	_, err := reg.Authenticate(testenv.Context(t), "any", "x", true)
	if err == nil || errors.Is(err, clients.ErrInvalidClient) {
		t.Fatalf("a database failure gave %v; want a store error, not ErrInvalidClient", err)
	}
}

func TestStoreContract(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := testenv.DB(t, b.URL)
			st := clients.NewStore(db)
			ctx := testenv.Context(t)

			var userID int64
			if err := db.GetContext(ctx, &userID, db.Rebind("INSERT INTO users (email, email_key, password, date_joined) VALUES (?, ?, ?, ?) RETURNING id"),
				"owner@example.com", "owner@example.com", "h", time.Now().UTC()); err != nil {
				t.Fatal(err)
			}

			t.Run("create and read back", func(t *testing.T) {
				before := time.Now().Add(-2 * time.Second)
				c := clients.Client{ClientID: "web", Name: "Web app", SecretHash: "hmac-sha256$x$y", Type: clients.Confidential,
					GrantTypesRaw: "authorization-code,refresh_token", RedirectURIsRaw: "https://app.example/cb",
					ScopesRaw: "read,write", SkipAuthorization: true, Algorithm: "RS256", UserID: sql.NullInt64{Int64: userID, Valid: true}}
				if err := st.Create(ctx, &c); err != nil {
					t.Fatal(err)
				}
				if c.ID == 0 || c.CreatedAt.IsZero() || !c.CreatedAt.Equal(c.UpdatedAt) {
					t.Fatalf("Create did not set ID and timestamps: %+v", c)
				}
				got, err := st.ByClientID(ctx, "web")
				if err != nil {
					t.Fatal(err)
				}
				want := c
				if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(2*time.Second)) {
					t.Errorf("CreatedAt %v not about now", got.CreatedAt)
				}
				got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				if got != want {
					t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
				}
				if got.GrantTypesRaw != "authorization_code refresh_token" || got.ScopesRaw != "read write" {
					t.Errorf("lists not normalised: %q %q", got.GrantTypesRaw, got.ScopesRaw)
				}
			})

			t.Run("null owner", func(t *testing.T) {
				c := clients.Client{ClientID: "cli", Name: "cli", Type: clients.Public, GrantTypesRaw: "password"}
				if err := st.Create(ctx, &c); err != nil {
					t.Fatal(err)
				}
				got, err := st.ByClientID(ctx, "cli")
				if err != nil || got.UserID.Valid || got.SecretHash != "" {
					t.Fatalf("got %+v, %v", got, err)
				}
			})

			t.Run("duplicate client id", func(t *testing.T) {
				c := clients.Client{ClientID: "web", Name: "again", Type: clients.Public, GrantTypesRaw: "password"}
				if err := st.Create(ctx, &c); !errors.Is(err, clients.ErrClientIDTaken) {
					t.Fatalf("Create duplicate = %v, want ErrClientIDTaken", err)
				}
				got, _ := st.ByClientID(ctx, "web")
				if got.Name != "Web app" {
					t.Fatalf("the duplicate overwrote the original: %+v", got)
				}
			})

			t.Run("invalid client is not stored", func(t *testing.T) {
				c := clients.Client{ClientID: "bad", Name: "bad", Type: clients.Public, GrantTypesRaw: "client_credentials"}
				if err := st.Create(ctx, &c); !errors.Is(err, clients.ErrPublicClientCredentials) {
					t.Fatalf("Create = %v", err)
				}
				if _, err := st.ByClientID(ctx, "bad"); !errors.Is(err, clients.ErrNotFound) {
					t.Fatalf("invalid client stored: %v", err)
				}
			})

			t.Run("not found and delete", func(t *testing.T) {
				if _, err := st.ByClientID(ctx, "ghost"); !errors.Is(err, clients.ErrNotFound) {
					t.Fatalf("ByClientID(ghost) = %v", err)
				}
				if err := st.Delete(ctx, "ghost"); !errors.Is(err, clients.ErrNotFound) {
					t.Fatalf("Delete(ghost) = %v", err)
				}
				if err := st.Delete(ctx, "cli"); err != nil {
					t.Fatal(err)
				}
				if _, err := st.ByClientID(ctx, "cli"); !errors.Is(err, clients.ErrNotFound) {
					t.Fatalf("after Delete: %v", err)
				}
				if err := st.Delete(ctx, "cli"); !errors.Is(err, clients.ErrNotFound) {
					t.Fatalf("second Delete = %v", err)
				}
			})

			t.Run("client ids are case-sensitive", func(t *testing.T) {
				c := clients.Client{ClientID: "WEB", Name: "upper", Type: clients.Public, GrantTypesRaw: "password"}
				if err := st.Create(ctx, &c); err != nil {
					t.Fatalf("WEB vs web: %v", err)
				}
				got, err := st.ByClientID(ctx, "WEB")
				if err != nil || got.Name != "upper" {
					t.Fatalf("got %+v, %v", got, err)
				}
			})
		})
	}
}

// refusingSlow is a SlowHasher whose every check is refused with err, as
// a full queue or an abandoned wait refuses it.
type refusingSlow struct{ err error }

func (r refusingSlow) Hash(context.Context, string) (string, error) { return "", r.err }
func (r refusingSlow) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, r.err
}

// TestRefusedSecretCheckIsNotInvalidClient: when the argon2id check of a
// chosen secret cannot run, the client gets no verdict (an error the token
// endpoint answers 503), not invalid_client; a generated secret needs no
// slot and still authenticates.
func TestRefusedSecretCheckIsNotInvalidClient(t *testing.T) {
	hashed := newCountingSlow(t)
	chosen, err := hashed.h.Hash(testenv.Context(t), "chosen-secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, refusal := range []error{passwords.ErrBusy, context.Canceled} {
		t.Run(refusal.Error(), func(t *testing.T) {
			st := clients.NewStore(testenv.DB(t, testenv.SQLiteURL(t)))
			reg := clients.NewRegistry(st, refusingSlow{refusal}, time.Minute)
			ctx := testenv.Context(t)
			for _, c := range []clients.Client{
				{ClientID: "chosen", Name: "chosen", Type: clients.Confidential, GrantTypesRaw: "client_credentials", SecretHash: chosen},
				{ClientID: "generated", Name: "generated", Type: clients.Confidential, GrantTypesRaw: "client_credentials", SecretHash: clients.HashGeneratedSecret("pcs_generated")},
			} {
				if err := st.Create(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			_, err := reg.Authenticate(ctx, "chosen", "chosen-secret", true)
			if err == nil || errors.Is(err, clients.ErrInvalidClient) || !errors.Is(err, refusal) {
				t.Fatalf("a refused check gave %v; want an error wrapping %v, not ErrInvalidClient", err, refusal)
			}
			if reg.VerifySecret(clients.Client{ClientID: "chosen", SecretHash: chosen}, "chosen-secret") {
				t.Fatal("VerifySecret reported a refused check as a match")
			}
			if _, err := reg.Authenticate(ctx, "generated", "pcs_generated", true); err != nil {
				t.Fatalf("a generated secret with every slot refusing: %v", err)
			}
		})
	}
}
