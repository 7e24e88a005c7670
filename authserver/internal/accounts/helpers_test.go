package accounts_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func newHasher(t testing.TB, p passwords.Params) *passwords.Hasher {
	t.Helper()
	h, err := passwords.NewHasher(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// countingHasher wraps a real Hasher and counts calls. With busy set, every
// call is refused with passwords.ErrBusy, as a full queue refuses it; with
// abandoned set, with context.Canceled, as a call refused when its request's
// context ended while it waited for a slot.
type countingHasher struct {
	*passwords.Hasher
	hashes, verifies, dummies atomic.Int64
	busy, abandoned           atomic.Bool
}

// refusal is the error every call returns instead of checking, or nil.
func (c *countingHasher) refusal() error {
	switch {
	case c.busy.Load():
		return passwords.ErrBusy
	case c.abandoned.Load():
		return context.Canceled
	}
	return nil
}

func (c *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	c.hashes.Add(1)
	if err := c.refusal(); err != nil {
		return "", err
	}
	return c.Hasher.Hash(ctx, pw)
}

func (c *countingHasher) Verify(ctx context.Context, enc, pw string) (bool, bool, error) {
	c.verifies.Add(1)
	if err := c.refusal(); err != nil {
		return false, false, err
	}
	return c.Hasher.Verify(ctx, enc, pw)
}

func (c *countingHasher) VerifyDummy(ctx context.Context, pw string) error {
	c.dummies.Add(1)
	if err := c.refusal(); err != nil {
		return err
	}
	return c.Hasher.VerifyDummy(ctx, pw)
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
	db := testenv.DB(t, url)
	st := accounts.NewStore(db)
	h := &countingHasher{Hasher: newHasher(t, testenv.CheapArgon)}
	return &fixture{db: db, store: st, hasher: h, svc: accounts.NewService(st, h, passwords.Validate, discard)}
}

// sqliteFixture is a fixture on a fresh SQLite file.
func sqliteFixture(t testing.TB) *fixture { return newFixture(t, testenv.SQLiteURL(t)) }

func set(v string) accounts.Field { return accounts.Field{Value: v, Set: true} }
