package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// loadConfig is the shape of every workload: a fixed number of keep-alive
// connections, sending as fast as answers come back (`wrk -t1 -c16`).
type loadConfig struct {
	conns    int
	warmup   time.Duration
	duration time.Duration
}

// A workload is the requests one figure sends. Exactly one of body, bodies
// and refresh says what each request carries.
type workload struct {
	name   string
	method string
	url    string
	header http.Header
	body   []byte       // the same body every time (nil: none)
	bodies [][]byte     // these bodies in turn
	pool   *refreshPool // refresh tokens that rotate (grant_type=refresh_token)
	// expect is what a 2xx body must contain to count as good; "" takes
	// every 2xx.
	expect string
}

// A driver sends a workload's requests for d and counts the answers.
type driver interface {
	name() string
	describe(cfg loadConfig) string
	run(ctx context.Context, cfg loadConfig, w *workload, d time.Duration) (result, error)
}

// refreshPool holds the live refresh tokens of the refresh workloads. A
// driver takes them all for a run and gives back the ones the run ended
// with; tokens in flight when a run stops are lost (their families
// rotated), so each run first tops the pool up from the spares.
type refreshPool struct {
	mu    sync.Mutex
	size  int
	live  []string
	spare []string
}

// take tops the pool up to its size and returns its tokens, emptying it.
func (p *refreshPool) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.live) < p.size && len(p.spare) > 0 {
		p.live, p.spare = append(p.live, p.spare[len(p.spare)-1]), p.spare[:len(p.spare)-1]
	}
	out := p.live
	p.live = nil
	return out
}

// give returns the tokens a run ended with.
func (p *refreshPool) give(ts []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = append(p.live, ts...)
}

// result summarises one measured run.
type result struct {
	ok, bad  int
	elapsed  time.Duration
	p50, p99 time.Duration
	errs     map[string]int
}

// merge adds r2's requests to r, as one run of both lengths. The merged p50
// is the request-weighted mean of the two, and p99 the larger: neither
// driver keeps every latency.
func (r result) merge(r2 result) result {
	out := result{ok: r.ok + r2.ok, bad: r.bad + r2.bad, elapsed: r.elapsed + r2.elapsed, errs: map[string]int{}}
	for _, m := range []map[string]int{r.errs, r2.errs} {
		for k, n := range m {
			out.errs[k] += n
		}
	}
	if out.ok > 0 {
		out.p50 = time.Duration((int64(r.p50)*int64(r.ok) + int64(r2.p50)*int64(r2.ok)) / int64(out.ok))
	}
	out.p99 = max(r.p99, r2.p99)
	return out
}

func (r result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

func (r result) errRate() float64 {
	if r.ok+r.bad == 0 {
		return 1
	}
	return float64(r.bad) / float64(r.ok+r.bad)
}

// errSummary names the most frequent failures.
func (r result) errSummary() string {
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, n := range r.errs {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n })
	var parts []string
	for i, e := range all {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%d× %s", e.n, e.k))
	}
	return strings.Join(parts, "; ")
}

// attack runs a warm-up and then the measured run of w. onLoad, when set,
// runs while the measured run runs and must return when its channel
// closes.
func (b *bench) attack(ctx context.Context, w *workload, d time.Duration, onLoad func(stop <-chan struct{})) (result, error) {
	if b.load.warmup > 0 {
		if _, err := b.drv.run(ctx, b.load, w, b.load.warmup); err != nil {
			return result{}, err
		}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	if onLoad != nil {
		go func() { onLoad(stop); close(finished) }()
	} else {
		close(finished)
	}
	res, err := b.drv.run(ctx, b.load, w, d)
	close(stop)
	<-finished
	return res, err
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p+99)/100 - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
