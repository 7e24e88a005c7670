package accounts_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// cheap are argon2id parameters that cost next to nothing, for tests.
var cheap = passwords.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openDB opens and migrates a database for one test.
func openDB(t testing.TB, url string) *database.DB {
	t.Helper()
	db, err := database.Open(ctxT(t), url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctxT(t)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func newHasher(t testing.TB, p passwords.Params) *passwords.Hasher {
	t.Helper()
	h, err := passwords.NewHasher(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// countingHasher wraps a real Hasher and counts calls.
type countingHasher struct {
	*passwords.Hasher
	hashes, verifies, dummies atomic.Int64
}

func (c *countingHasher) Hash(pw string) (string, error) {
	c.hashes.Add(1)
	return c.Hasher.Hash(pw)
}

func (c *countingHasher) Verify(enc, pw string) (bool, bool, error) {
	c.verifies.Add(1)
	return c.Hasher.Verify(enc, pw)
}

func (c *countingHasher) VerifyDummy(pw string) {
	c.dummies.Add(1)
	c.Hasher.VerifyDummy(pw)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	db     *database.DB
	store  *accounts.Store
	hasher *countingHasher
	svc    *accounts.Service
}

func newFixture(t testing.TB, url string) *fixture {
	t.Helper()
	db := openDB(t, url)
	st := accounts.NewStore(db)
	h := &countingHasher{Hasher: newHasher(t, cheap)}
	return &fixture{db: db, store: st, hasher: h, svc: accounts.NewService(st, h, passwords.Validate, discard)}
}

// sqliteFixture is a fixture on a fresh SQLite file.
func sqliteFixture(t testing.TB) *fixture { return newFixture(t, testenv.SQLiteURL(t)) }

func set(v string) accounts.Field { return accounts.Field{Value: v, Set: true} }

var unset = accounts.Field{}
