package tokens

import (
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// scanHeavy drives c as introspection does (a miss reads Redis, then adds)
// with hotN tokens in steady use, each coming back after `between` tokens
// seen once, for rounds rounds. It returns the hot tokens that missed in
// the last round.
func scanHeavy(c *accessCache, hotN, between, rounds int) (missed []string) {
	var scanned int
	request := func(h string) bool {
		if _, ok := c.get(h); ok {
			return true
		}
		gen, _ := c.begin()
		c.add(gen, h, record{})
		return false
	}
	for r := range rounds {
		missed = missed[:0]
		for i := range hotN {
			h := revocation.HashString("hot-" + strconv.Itoa(i))
			if !request(h) && r == rounds-1 {
				missed = append(missed, h)
			}
			for range between {
				request(revocation.HashString("scan-" + strconv.Itoa(scanned)))
				scanned++
			}
		}
	}
	return missed
}

// TestAccessCacheResistsScans: tokens in steady use stay cached though each
// comes back only after more distinct tokens than the cache holds; an LRU
// would miss them every time.
func TestAccessCacheResistsScans(t *testing.T) {
	c := newAccessCache(100, time.Minute)
	c.live.Store(true)
	if missed := scanHeavy(c, 10, 15, 20); len(missed) != 0 {
		t.Fatalf("hot tokens evicted by the sweep: %d of 10", len(missed))
	}
}

// BenchmarkAccessCacheScanHeavy is the cache under a scan-heavy pattern:
// half the requests for 1,000 hot tokens, half a sweep through a working
// set twice the cache's 10,000 entries. hit% is the share served from the
// cache.
func BenchmarkAccessCacheScanHeavy(b *testing.B) {
	c := newAccessCache(10_000, time.Minute)
	c.live.Store(true)
	hs := make([]string, 1_000+20_000)
	for i := range hs {
		hs[i] = revocation.HashString(strconv.Itoa(i))
	}
	var hits, n, next int
	b.ReportAllocs()
	for b.Loop() {
		var h string
		if n%2 == 0 {
			h = hs[(n/2)%1_000]
		} else {
			h = hs[1_000+next%20_000]
			next++
		}
		n++
		if _, ok := c.get(h); ok {
			hits++
			continue
		}
		gen, _ := c.begin()
		c.add(gen, h, record{})
	}
	b.ReportMetric(100*float64(hits)/float64(n), "hit%")
}
