package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
)

// CheapArgon are argon2id parameters that cost next to nothing, for tests.
var CheapArgon = passwords.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

// Context is a context that ends after a minute or with the test.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// DB opens and migrates the database at url for one test, and closes it
// when the test ends.
func DB(t testing.TB, url string) *database.DB {
	t.Helper()
	db, err := database.Open(Context(t), url)
	if err != nil {
		t.Fatalf("open %s: %v", database.Redact(url), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(Context(t)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
