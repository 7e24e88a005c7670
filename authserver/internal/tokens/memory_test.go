package tokens

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// memoryBudget is the most Redis may hold per live access token.
const memoryBudget = 300

// memoryOf sums MEMORY USAGE (exact for aggregates: SAMPLES 0) of the keys
// under prefix whose name passes keep.
func memoryOf(t *testing.T, e *env, keep func(string) bool) int64 {
	t.Helper()
	ctx := context.Background()
	var total int64
	for _, k := range e.keys(t) {
		if !keep(k) {
			continue
		}
		n, err := e.rdb.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			t.Fatalf("MEMORY USAGE %s: %v", k, err)
		}
		total += n
	}
	return total
}

// logBreakdown logs where the bytes under e's prefix go, per kind of key
// (the letters after the prefix: a{ access, r{ refresh, f{ family, u: and
// c: indexes, …), per token of n.
func logBreakdown(t *testing.T, e *env, n int64) {
	t.Helper()
	by := map[string]int64{}
	memoryOf(t, e, func(k string) bool {
		rest := strings.TrimPrefix(k, e.prefix)
		kind := rest[:min(2, len(rest))]
		by[kind] += e.rdb.MemoryUsage(context.Background(), k, 0).Val()
		return false
	})
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(by)) {
		parts = append(parts, fmt.Sprintf("%s %d", kind, by[kind]/n))
	}
	t.Logf("MEMORY by key kind, bytes per token: %s", strings.Join(parts, ", "))
}

// TestMemoryPerAccessToken measures, with MEMORY USAGE on real Redis, what
// a live access token costs: its own key plus its share of every index
// entry. It counts every key under the test's prefix.
func TestMemoryPerAccessToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		if e.mr != nil {
			t.Skip("SKIPPED on miniredis: it has no MEMORY USAGE; this test runs on real Redis (TEST_REDIS_URL)")
		}
		// One instant for every issue: tokens issued across a minute
		// boundary would land in two index buckets each, and the figure
		// would depend on when the test runs.
		t0 := e.now()
		e.s.now = func() time.Time { return t0 }
		defer func() { e.s.now = e.now }()
		const n = 1000
		t.Run("client_credentials, everything counted", func(t *testing.T) {
			// One client with many tokens: its index bucket is past its
			// compact (listpack) encoding, the costly case. The client id
			// has the length of a generated one (clients.GenerateClientID).
			for range n {
				mustIssue(t, e, grant.Grant{ClientID: "JmQzLrW8sT2uV4xY6zA1bC", Scope: "read write"}, false)
			}
			logBreakdown(t, e, n)
			per := memoryOf(t, e, func(string) bool { return true }) / n
			t.Logf("MEMORY: %d bytes per client_credentials access token (all keys, %d tokens)", per, n)
			if per > memoryBudget {
				t.Fatalf("%d bytes per access token > %d", per, memoryBudget)
			}
			testenv.DeletePrefix(e.rdb, e.prefix)
		})
		t.Run("password grant with refresh", func(t *testing.T) {
			// 100 users with 10 families each, one client.
			for i := range n {
				mustIssue(t, e, userGrant(int64(1+i%100)), true)
			}
			isAccessOrIndex := func(k string) bool {
				rest := strings.TrimPrefix(k, e.prefix)
				return strings.HasPrefix(rest, "a{") || strings.HasPrefix(rest, "u:") || strings.HasPrefix(rest, "c:")
			}
			logBreakdown(t, e, n)
			per := memoryOf(t, e, isAccessOrIndex) / n
			all := memoryOf(t, e, func(string) bool { return true }) / n
			t.Logf("MEMORY: %d bytes per access token (access key + index shares); %d bytes per whole family (+ refresh key, family hash)", per, all)
			if per > memoryBudget {
				t.Fatalf("%d bytes per access token > %d", per, memoryBudget)
			}
		})
		t.Run("a family hash stays compact", func(t *testing.T) {
			// Every field under hash-max-listpack-value (64 bytes), also
			// after a rotation: else Redis turns the hash into a
			// hashtable, about 300 bytes more per family.
			ctx := context.Background()
			iss := mustIssue(t, e, userGrant(1), true)
			r, err := e.s.Rotate(ctx, iss.RefreshToken, "rs-id", "")
			if err != nil {
				t.Fatal(err)
			}
			enc, err := e.rdb.ObjectEncoding(ctx, e.s.keyFam(r.Family)).Result()
			if err != nil || enc != "listpack" && enc != "ziplist" {
				t.Fatalf("family hash encoding %q, %v; want listpack", enc, err)
			}
		})
	})
}
