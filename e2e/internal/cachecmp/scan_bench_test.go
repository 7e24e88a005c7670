package cachecmp

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/maypok86/otter/v2"
)

const (
	size = 10_000
	hot  = size / 10 // the tokens in steady use
	scan = 2 * size  // a sweep of tokens each seen once per cycle
	ttl  = time.Minute
)

// cache is the part of each library the benchmark drives: a miss is
// followed by a set, as the middleware does after introspection.
type cache interface {
	get(k uint64) bool
	set(k uint64)
}

type lruCache struct {
	c *expirable.LRU[uint64, struct{}]
}

func (l lruCache) get(k uint64) bool { _, ok := l.c.Get(k); return ok }
func (l lruCache) set(k uint64)      { l.c.Add(k, struct{}{}) }

type otterCache struct {
	c *otter.Cache[uint64, struct{}]
}

func (o otterCache) get(k uint64) bool { _, ok := o.c.GetIfPresent(k); return ok }
func (o otterCache) set(k uint64)      { o.c.Set(k, struct{}{}) }

type ristrettoCache struct {
	c *ristretto.Cache[uint64, struct{}]
}

func (r ristrettoCache) get(k uint64) bool { _, ok := r.c.Get(k); return ok }
func (r ristrettoCache) set(k uint64)      { r.c.SetWithTTL(k, struct{}{}, 1, ttl) }

// BenchmarkScanHeavy: half the requests use one of `hot` tokens, half sweep
// through `scan` tokens in turn (a working set of 2.2× the cache). An LRU
// admits every swept token and evicts the hot ones; W-TinyLFU keeps them.
// hit% is the share of requests served from the cache.
func BenchmarkScanHeavy(b *testing.B) {
	builds := []struct {
		name string
		new  func(b *testing.B) cache
	}{
		{"lru", func(*testing.B) cache { return lruCache{expirable.NewLRU[uint64, struct{}](size, nil, ttl)} }},
		{"otter", func(b *testing.B) cache {
			c, err := otter.New(&otter.Options[uint64, struct{}]{MaximumSize: size,
				ExpiryCalculator: otter.ExpiryWriting[uint64, struct{}](ttl)})
			if err != nil {
				b.Fatal(err)
			}
			return otterCache{c}
		}},
		{"ristretto", func(b *testing.B) cache {
			c, err := ristretto.NewCache(&ristretto.Config[uint64, struct{}]{NumCounters: 10 * size, MaxCost: size, BufferItems: 64})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.Close)
			return ristrettoCache{c}
		}},
	}
	for _, bc := range builds {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.new(b)
			r := rand.New(rand.NewPCG(1, 2))
			var hits, n, next uint64
			b.ReportAllocs()
			for b.Loop() {
				var k uint64
				if r.IntN(2) == 0 {
					k = uint64(r.IntN(hot))
				} else {
					k = hot + next%scan
					next++
				}
				n++
				if c.get(k) {
					hits++
				} else {
					c.set(k)
				}
			}
			b.ReportMetric(100*float64(hits)/float64(n), "hit%")
		})
	}
}
