package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// vegetaDriver is the fallback on a machine without wrk: vegeta as a
// library in the bench process, one worker per keep-alive connection at
// the maximum rate. It costs more CPU than wrk, which on a small machine
// pulls every ratio toward 1, so the table says which driver made it.
type vegetaDriver struct{}

func (vegetaDriver) name() string { return "vegeta" }

func (vegetaDriver) describe(cfg loadConfig) string {
	return fmt.Sprintf("vegeta (the fallback: wrk was not found; %d workers on %d keep-alive connections at the maximum rate, in the bench process; its own CPU use pulls ratios toward 1)", cfg.conns, cfg.conns)
}

func (vegetaDriver) run(ctx context.Context, cfg loadConfig, w *workload, du time.Duration) (result, error) {
	tr, recycle, finish := vegetaTargeter(w)
	defer finish()
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
	for r := range a.Attack(tr, vegeta.Rate{Freq: 0}, du, w.name) {
		good := r.Error == "" && r.Code >= 200 && r.Code < 300
		if good && w.expect != "" && !bytes.Contains(r.Body, []byte(w.expect)) {
			good = false
			r.Error = "unexpected 2xx body: " + truncate(string(r.Body), 80)
		}
		if good {
			res.ok++
			lat = append(lat, r.Latency)
			recycle(r.Body)
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
	res.p50, res.p99 = percentile(lat, 50), percentile(lat, 99)
	return res, nil
}

// vegetaTargeter builds w's requests. recycle sees every good answer's
// body; finish gives a refresh pool back.
func vegetaTargeter(w *workload) (tr vegeta.Targeter, recycle func([]byte), finish func()) {
	recycle, finish = func([]byte) {}, func() {}
	switch {
	case w.pool != nil:
		toks := w.pool.take()
		ch := make(chan string, len(toks)+1024)
		for _, t := range toks {
			ch <- t
		}
		tr = func(t *vegeta.Target) error {
			select {
			case rt := <-ch:
				t.Method, t.URL, t.Header = w.method, w.url, w.header
				t.Body = []byte("grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt))
				return nil
			case <-time.After(5 * time.Second):
				return errors.New("refresh pool ran dry (every family failed)")
			}
		}
		recycle = func(body []byte) {
			if rt := refreshTokenIn(body); rt != "" {
				select {
				case ch <- rt:
				default:
				}
			}
		}
		finish = func() {
			var left []string
			for {
				select {
				case t := <-ch:
					left = append(left, t)
				default:
					w.pool.give(left)
					return
				}
			}
		}
	case w.bodies != nil:
		var next atomic.Uint64
		tr = func(t *vegeta.Target) error {
			i := next.Add(1) - 1
			t.Method, t.URL, t.Body, t.Header = w.method, w.url, w.bodies[i%uint64(len(w.bodies))], w.header
			return nil
		}
	default:
		tr = func(t *vegeta.Target) error {
			t.Method, t.URL, t.Body, t.Header = w.method, w.url, w.body, w.header
			return nil
		}
	}
	return tr, recycle, finish
}

// refreshTokenIn finds the refresh_token of a token response without a JSON
// decoder, whose cost would count against the server in the load
// generator's share of the CPU. Tokens are base64url, so they need no
// unescaping; anything unexpected gives "".
func refreshTokenIn(body []byte) string {
	const key = `"refresh_token":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 {
		return ""
	}
	return string(rest[:j])
}
