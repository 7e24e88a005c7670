package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// loadConfig is the shape of every workload: a fixed number of workers, each
// with its own keep-alive connection, sending as fast as answers come back
// (like `wrk -t1 -c16`).
type loadConfig struct {
	conns    int
	warmup   time.Duration
	duration time.Duration
}

// result summarises one measured attack.
type result struct {
	ok, bad  int
	elapsed  time.Duration
	p50, p99 time.Duration
	errs     map[string]int
	lat      []time.Duration // of the good answers, sorted
}

// merge adds r2's requests to r, as one run of both lengths.
func (r result) merge(r2 result) result {
	out := result{ok: r.ok + r2.ok, bad: r.bad + r2.bad, elapsed: r.elapsed + r2.elapsed, errs: map[string]int{}}
	for _, m := range []map[string]int{r.errs, r2.errs} {
		for k, n := range m {
			out.errs[k] += n
		}
	}
	out.lat = append(append(make([]time.Duration, 0, len(r.lat)+len(r2.lat)), r.lat...), r2.lat...)
	sort.Slice(out.lat, func(i, j int) bool { return out.lat[i] < out.lat[j] })
	out.p50, out.p99 = percentile(out.lat, 50), percentile(out.lat, 99)
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

// check reports whether a 2xx answer is the answer the workload expects;
// nil accepts every 2xx.
type check func(*vegeta.Result) bool

// attack runs a warm-up and then the measured attack of tr. Every result,
// warm-up included, is passed to each (which may be nil) on the results
// goroutine, before the next result is read. onLoad, when set, runs while
// the measured attack runs and must return when its channel closes.
func attack(ctx context.Context, cfg loadConfig, name string, tr vegeta.Targeter, ok check, each func(*vegeta.Result), onLoad func(stop <-chan struct{})) (result, error) {
	if cfg.warmup > 0 {
		if _, err := attackOnce(ctx, cfg, name+"-warmup", cfg.warmup, tr, ok, each); err != nil {
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
	res, err := attackOnce(ctx, cfg, name, cfg.duration, tr, ok, each)
	close(stop)
	<-finished
	return res, err
}

func attackOnce(ctx context.Context, cfg loadConfig, name string, du time.Duration, tr vegeta.Targeter, ok check, each func(*vegeta.Result)) (result, error) {
	n := uint64(cfg.conns)
	a := vegeta.NewAttacker(
		vegeta.Workers(n), vegeta.MaxWorkers(n),
		vegeta.Connections(cfg.conns), vegeta.MaxConnections(cfg.conns),
		vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second), vegeta.Redirects(vegeta.NoFollow),
	)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			a.Stop()
		case <-done:
		}
	}()
	res := result{errs: map[string]int{}}
	var lat []time.Duration
	start := time.Now()
	var last time.Time
	for r := range a.Attack(tr, vegeta.Rate{Freq: 0}, du, name) {
		if each != nil {
			each(r)
		}
		good := r.Error == "" && r.Code >= 200 && r.Code < 300
		if good && ok != nil && !ok(r) {
			good = false
			r.Error = "unexpected 2xx body: " + truncate(string(r.Body), 80)
		}
		if good {
			res.ok++
			lat = append(lat, r.Latency)
		} else {
			res.bad++
			msg := r.Error
			if msg == "" {
				msg = http.StatusText(int(r.Code))
			}
			if r.Code >= 300 {
				msg = fmt.Sprintf("%d %s", r.Code, truncate(string(r.Body), 80))
			}
			res.errs[msg]++
		}
		if e := r.End(); e.After(last) {
			last = e
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.elapsed = last.Sub(start)
	if res.elapsed <= 0 {
		res.elapsed = time.Since(start)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.lat = lat
	res.p50, res.p99 = percentile(lat, 50), percentile(lat, 99)
	return res, nil
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

// staticTargeter hits the same request every time.
func staticTargeter(method, url string, body []byte, hdr http.Header) vegeta.Targeter {
	return func(t *vegeta.Target) error {
		t.Method, t.URL, t.Body, t.Header = method, url, body, hdr
		return nil
	}
}

// poolTargeter cycles through bodies, one request each, in order.
func poolTargeter(method, url string, bodies [][]byte, hdr http.Header) vegeta.Targeter {
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		t.Method, t.URL, t.Body, t.Header = method, url, bodies[i%uint64(len(bodies))], hdr
		return nil
	}
}
