package testenv

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidiscompat"
)

// TokenOptions returns the rueidis options of the same Redis as rdb (a
// *redis.Client or a *redis.ClusterClient), for tokens.Dial: the token store
// takes a rueidis client, which pipelines the commands of concurrent callers
// on one connection. A single server is dialled as one (ForceSingleClient),
// so it need not be up yet.
func TokenOptions(t testing.TB, rdb redis.UniversalClient) rueidis.ClientOption {
	t.Helper()
	switch c := rdb.(type) {
	case *redis.Client:
		o := c.Options()
		opt := rueidis.ClientOption{InitAddress: []string{o.Addr}, Username: o.Username, Password: o.Password, SelectDB: o.DB,
			ForceSingleClient: true}
		opt.Dialer.Timeout = o.DialTimeout
		if o.WriteTimeout > 0 {
			opt.ConnWriteTimeout = o.WriteTimeout
		}
		return opt
	case *redis.ClusterClient:
		o := c.Options()
		return rueidis.ClientOption{InitAddress: o.Addrs, Username: o.Username, Password: o.Password}
	}
	t.Fatalf("testenv: TokenOptions: unsupported client %T", rdb)
	return rueidis.ClientOption{}
}

// TokenClient dials, with dial (pass tokens.Dial), the token store's client
// of the same Redis as rdb, and closes it when the test ends.
func TokenClient(t testing.TB, rdb redis.UniversalClient, dial func(rueidis.ClientOption) (rueidis.Client, error)) rueidis.Client {
	t.Helper()
	c, err := dial(TokenOptions(t, rdb))
	if c == nil {
		t.Fatalf("testenv: TokenClient: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Compat is the auth server's one Redis client (rueidis, shaped like
// go-redis by rueidiscompat), of the same Redis as rdb, as serve hands it
// to sessions, the throttle and readiness. It is closed when the test ends.
func Compat(t testing.TB, rdb redis.UniversalClient) rueidiscompat.Cmdable {
	t.Helper()
	dial := func(o rueidis.ClientOption) (rueidis.Client, error) {
		o.DisableCache = true // as tokens.Dial: miniredis speaks no RESP3 client cache
		return rueidis.NewClient(o)
	}
	return rueidiscompat.NewAdapter(TokenClient(t, rdb, dial))
}
