package tokens

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// tokenClient is the store's client of the same Redis as rdb (which the
// tests keep for looking at keys), closed when the test ends.
func tokenClient(t testing.TB, rdb redis.UniversalClient) rueidis.Client {
	t.Helper()
	return testenv.TokenClient(t, rdb, Dial)
}
