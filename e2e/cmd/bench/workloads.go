package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// baselineRounds is how many baseline/workload slice pairs interleaved runs.
const baselineRounds = 4

// introspectPool is how many live tokens the introspection workloads cycle
// through, so that no figure rests on one hot key.
const introspectPool = 1000

func (b *bench) measureBare(ctx context.Context) error {
	c, err := b.start(ctx, "bare Gin process", b.self, []string{"bare"}, nil)
	if err != nil {
		return err
	}
	b.bareChild = c
	res, err := b.attack(ctx, b.bareWorkload(), b.load.duration, b.sampler(c))
	if err != nil {
		return err
	}
	b.bareRPS = res.rps()
	b.add(row{
		figure:   "W0 bare Gin JSON handler (separate process, release mode, no middleware)",
		measured: b.perf(res, "bare"),
		baseline: "this is the limit",
		target:   "—", verdict: "—",
	})
	return nil // it stays up, idle, for the adjacent baselines
}

func (b *bench) bareWorkload() *workload {
	return &workload{name: "bare", method: "GET", url: b.bareChild.URL + "/", expect: `"status":"ok"`}
}

// againstBare measures a workload against the bare handler, interleaved. It
// returns the workload's merged result and the bare handler's rate over its
// slices.
func (b *bench) againstBare(ctx context.Context, w *workload, c *child) (result, float64, error) {
	work, bare, err := b.interleaved(ctx, w, b.bareWorkload(), c)
	if err != nil {
		return result{}, 0, err
	}
	return work, bareRate(bare), nil
}

// bareRate is the bare handler's rate over its interleaved slices, also
// shown on stderr.
func bareRate(bare result) float64 {
	fmt.Fprintf(os.Stderr, "bench:   %-20s %.0f req/s (over its %d slices)\n", "bare (interleaved)", bare.rps(), baselineRounds)
	return bare.rps()
}

// baselineSlice runs a baseline's slice; one with more than 1% errors
// fails the run, since the ratio against it would mean nothing.
func (b *bench) baselineSlice(ctx context.Context, base *workload, d time.Duration) (result, error) {
	r, err := b.drv.run(ctx, b.load, base, d)
	if err != nil {
		return result{}, err
	}
	if r.errRate() > 0.01 {
		return result{}, fmt.Errorf("%s: %d of %d requests failed: %s", base.name, r.bad, r.ok+r.bad, r.errSummary())
	}
	return r, nil
}

// interleaved measures a workload and its baseline in alternating slices
// (baseline, workload, baseline, workload, …; baselineRounds of each, the
// workload's adding up to the configured duration), so that the two
// figures of a ratio share the machine's drift instead of standing a few
// seconds apart on a shared, noisy machine. It returns both merged
// results; a baseline slice with more than 1% errors fails the run. c is
// the process whose memory is sampled.
func (b *bench) interleaved(ctx context.Context, w, base *workload, c *child) (work, baseRes result, err error) {
	work, err = b.alternate(ctx, w, c, func(slice time.Duration) error {
		br, err := b.baselineSlice(ctx, base, slice)
		if err != nil {
			return err
		}
		baseRes = baseRes.merge(br)
		return nil
	})
	return work, baseRes, err
}

// alternate runs w, after its warm-up, in baselineRounds slices that add
// up to the configured duration, and calls base(slice) before each of
// them, for a baseline of the same length; c's memory is sampled
// throughout. It returns w's merged result (merging into the zero result
// is the first slice itself).
func (b *bench) alternate(ctx context.Context, w *workload, c *child, base func(slice time.Duration) error) (work result, err error) {
	slice := b.load.duration / baselineRounds
	if b.load.warmup > 0 {
		if _, err := b.drv.run(ctx, b.load, w, b.load.warmup); err != nil {
			return result{}, err
		}
	}
	stop, finished := make(chan struct{}), make(chan struct{})
	go func() { b.rss.sample(c, stop); close(finished) }()
	defer func() { close(stop); <-finished }()
	for range baselineRounds {
		if err := base(slice); err != nil {
			return result{}, err
		}
		wr, err := b.drv.run(ctx, b.load, w, slice)
		if err != nil {
			return result{}, err
		}
		work = work.merge(wr)
	}
	return work, nil
}

func (b *bench) startAuth(ctx context.Context) error {
	c, err := b.start(ctx, "authserver", b.authBin, []string{"serve"}, b.authEnv())
	if err != nil {
		return err
	}
	b.authChild, b.authURL = c, c.URL
	return nil
}

// form posts a form with HTTP Basic client authentication.
func (b *bench) form(ctx context.Context, path string, vals url.Values, id, secret string) (int, []byte, error) {
	return b.do(ctx, "POST", b.authURL+path, vals, func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) })
}

func (b *bench) do(ctx context.Context, method, u string, vals url.Values, auth func(*http.Request)) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(vals.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	auth(req)
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (b *bench) issueCC(ctx context.Context) (string, error) {
	code, body, err := b.form(ctx, "/o/token/", url.Values{"grant_type": {"client_credentials"}}, b.ccID, b.ccSecret)
	if err != nil {
		return "", err
	}
	var tr tokenResponse
	if code != 200 || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("client_credentials: %d %s", code, truncate(string(body), 200))
	}
	return tr.AccessToken, nil
}

// parallel runs f(0) … f(n-1) on as many goroutines as the load has
// connections, and returns the first error (the others stop at their next
// call).
func (b *bench) parallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range b.load.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if err := f(int(i)); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// measureMemory issues K live access tokens on an otherwise empty prefix
// and divides the growth of the prefix's MEMORY USAGE by K.
func (b *bench) measureMemory(ctx context.Context) error {
	before, keysBefore, err := prefixMemory(ctx, b.rdb, b.prefix)
	if err != nil {
		return err
	}
	if err := b.parallel(b.tokens, func(int) error { _, err := b.issueCC(ctx); return err }); err != nil {
		return err
	}
	after, keysAfter, err := prefixMemory(ctx, b.rdb, b.prefix)
	if err != nil {
		return err
	}
	memBytes, memKeys := after-before, keysAfter-keysBefore
	per := float64(memBytes) / float64(b.tokens)
	b.add(row{
		figure:   fmt.Sprintf("Redis bytes per live access token, index entries included (K=%d client_credentials tokens over HTTP; SCAN the prefix, sum MEMORY USAGE … SAMPLES 0, ÷K)", b.tokens),
		measured: fmt.Sprintf("**%.0f B** (%d B over %d new keys; %d keys before)", per, memBytes, memKeys, keysBefore),
		baseline: "—", target: "≤ 300 B", verdict: verdict(per <= 300),
	})
	return nil
}

func basicHeader(id, secret string) http.Header {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	h := http.Header{}
	h.Set("Authorization", req.Header.Get("Authorization"))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h
}

func bearer(tok string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	return h
}

// seed runs benchseed: n tokens issued by the token store itself under
// prefix, to client (and user, when userID is set). It returns the file's
// lines: the access token, and with refresh the refresh token after a
// space.
func (b *bench) seed(ctx context.Context, prefix, client string, userID int64, username string, refresh bool, n int) ([]string, error) {
	out := fmt.Sprintf("%s/seed-%s.txt", b.dir, randHex(4))
	defer os.Remove(out)
	args := []string{"-redis-url", b.redisURL, "-prefix", prefix, "-client", client, "-n", strconv.Itoa(n), "-out", out}
	if userID != 0 {
		args = append(args, "-user-id", strconv.FormatInt(userID, 10), "-username", username)
	}
	if refresh {
		args = append(args, "-refresh")
	}
	start := time.Now()
	if _, err := b.run(ctx, nil, b.seedBin, args...); err != nil {
		return nil, err
	}
	f, err := os.Open(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lines := make([]string, 0, n)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lines) != n {
		return nil, fmt.Errorf("benchseed wrote %d tokens, not %d", len(lines), n)
	}
	fmt.Fprintf(os.Stderr, "bench:   seeded %d %s in %.1f s\n", n, map[bool]string{true: "families", false: "access tokens"}[refresh], time.Since(start).Seconds())
	return lines, nil
}

// refreshWorkload rotates the families of b.refresh at the auth server.
func (b *bench) refreshWorkload(name string) *workload {
	return &workload{name: name, method: "POST", url: b.authURL + "/o/token/", header: basicHeader(b.pwID, b.pwSecret),
		pool: b.refresh, expect: `"refresh_token"`}
}

// refreshFamilies fills the refresh pool's spares with families from
// password grants over HTTP: the pool's size, and what the refresh runs
// (eleven of them, warm-ups included) may lose when wrk stops: per
// connection, a request in flight and one taken but not sent.
func (b *bench) refreshFamilies(ctx context.Context) error {
	if len(b.refresh.spare) > 0 {
		return nil
	}
	n := b.refresh.size + 2*12*b.load.conns
	toks := make([]string, n)
	err := b.parallel(n, func(i int) error {
		code, body, err := b.form(ctx, "/o/token/", url.Values{"grant_type": {"password"}, "username": {b.email}, "password": {b.password}}, b.pwID, b.pwSecret)
		var tr tokenResponse
		if err != nil || code != 200 || json.Unmarshal(body, &tr) != nil || tr.RefreshToken == "" {
			return fmt.Errorf("password grant for the refresh pool: %d %v %s", code, err, truncate(string(body), 200))
		}
		toks[i] = tr.RefreshToken
		return nil
	})
	if err != nil {
		return err
	}
	b.refresh.spare = toks
	return nil
}

// measureRefresh rotates the refresh families with and without the two
// other subscribers to revocation events (the resource server and the
// second auth server), interleaved: each round runs the bare handler, then
// W5a with both subscribers stopped, then W5 with them started again, so
// that what a subscriber costs is not the machine's drift between two
// runs a minute apart. Then it measures what each event costs them.
func (b *bench) measureRefresh(ctx context.Context) error {
	if err := b.refreshFamilies(ctx); err != nil {
		return err
	}
	if err := b.startSubscribers(ctx); err != nil {
		return err
	}
	var bare, alone result
	res, err := b.alternate(ctx, b.refreshWorkload("refresh"), b.authChild, func(slice time.Duration) error {
		br, err := b.baselineSlice(ctx, b.bareWorkload(), slice)
		if err != nil {
			return err
		}
		b.stopSubscribers()
		ar, err := b.drv.run(ctx, b.load, b.refreshWorkload("refresh-alone"), slice)
		if err != nil {
			return err
		}
		bare, alone = bare.merge(br), alone.merge(ar)
		return b.startSubscribers(ctx)
	})
	if err != nil {
		return err
	}
	base := bareRate(bare)
	b.ratioRow(fmt.Sprintf("W5a refresh with rotation, no other process subscribed (pool of %d live families; each new refresh_token goes back in); the resource server and the second auth server stopped for its slices", b.refresh.size),
		"refresh-alone", alone, base, "bare handler (interleaved with it)", 0)
	b.ratioRow("W5 refresh with rotation, the resource server and a second auth server subscribed (pool as in W5a; in slices interleaved with W5a's)",
		"refresh", res, base, "bare handler (interleaved with it)", 0.30)
	fall := 1 - res.rps()/alone.rps()
	b.add(row{
		figure:   "W5 against W5a: what two more subscribers cost refresh",
		measured: fmt.Sprintf("**%.1f%%** slower per added subscriber (%.0f req/s with them, %.0f without)", 100*fall/2, res.rps(), alone.rps()),
		baseline: "W5a, interleaved with W5", target: "≤ 5% per subscriber", verdict: verdict(fall/2 <= 0.05),
	})
	// Subscriber CPU per event, in the real processes.
	subs := []*child{b.rsChild, b.nocache}
	before := make([]time.Duration, len(subs))
	for i, c := range subs {
		before[i] = cpuTime(c.pid())
	}
	cfg := b.load
	r, err := b.drv.run(ctx, cfg, b.refreshWorkload("refresh-cpu"), 3*time.Second)
	if err != nil {
		return err
	}
	for i, c := range subs {
		used := cpuTime(c.pid()) - before[i]
		per := time.Duration(0)
		if r.ok > 0 {
			per = used / time.Duration(r.ok)
		}
		b.add(row{
			figure:   "subscriber CPU per revocation event, whole process: " + c.name + " (user+system CPU over a 3 s refresh run ÷ its rotations; their events go out in batches)",
			measured: fmt.Sprintf("**%.2f µs** (%s of CPU over %d events)", float64(per)/1e3, ms(used), r.ok),
			baseline: "—", target: "— (the ≤ 2 µs target is the testing.B below)", verdict: "—",
		})
	}
	return nil
}

// measureIntrospection introspects a pool of live tokens on the auth server
// as configured by default (token cache on), then, for comparison, on a
// second auth server with TOKEN_CACHE_TTL=0, where every introspection is
// one Redis round trip. The second server stays up: it is one of the
// subscribers of W5.
func (b *bench) measureIntrospection(ctx context.Context) error {
	toks := make([]string, introspectPool)
	for i := range toks {
		tok, err := b.issueCC(ctx)
		if err != nil {
			return err
		}
		toks[i] = tok
	}
	res, base, err := b.againstBare(ctx, b.introspectWorkload(b.authChild, "introspect", toks), b.authChild)
	if err != nil {
		return err
	}
	b.ratioRow(fmt.Sprintf("W1 introspection of a valid token (POST /o/introspect/, Basic auth, generated secret; %d live tokens in turn; token cache on, the default)", introspectPool),
		"introspect", res, base, "bare handler (interleaved with it)", 0.70)
	if err := b.ceiling(ctx, "W1", b.introspectWorkload(b.authChild, "introspect-ceiling", toks), res.rps()/base); err != nil {
		return err
	}

	if err := b.startNoCache(ctx); err != nil {
		return err
	}
	res, base, err = b.againstBare(ctx, b.introspectWorkload(b.nocache, "introspect-nocache", toks), b.nocache)
	if err != nil {
		return err
	}
	b.ratioRow("W1b the same with `TOKEN_CACHE_TTL=0` (a second auth server: one Redis round trip per introspection)",
		"introspect-nocache", res, base, "bare handler (interleaved with it)", 0)
	return nil
}

// introspectWorkload introspects toks at c in turn, as the
// client_credentials client; each must be active.
func (b *bench) introspectWorkload(c *child, name string, toks []string) *workload {
	bodies := make([][]byte, len(toks))
	for i, t := range toks {
		bodies[i] = []byte("token=" + url.QueryEscape(t))
	}
	return &workload{name: name, method: "POST", url: c.URL + "/o/introspect/", header: basicHeader(b.ccID, b.ccSecret),
		bodies: bodies, expect: `"active":true`}
}

// startSubscribers starts the second auth server and the resource server,
// each if it is not up yet.
func (b *bench) startSubscribers(ctx context.Context) error {
	if err := b.startNoCache(ctx); err != nil {
		return err
	}
	return b.startResourceServer(ctx)
}

// stopSubscribers stops the second auth server and the resource server.
func (b *bench) stopSubscribers() {
	b.retire(b.nocache)
	b.retire(b.rsChild)
	b.nocache, b.rsChild = nil, nil
}

// startNoCache starts the second auth server, with TOKEN_CACHE_TTL=0, if
// it is not up yet.
func (b *bench) startNoCache(ctx context.Context) error {
	if b.nocache != nil {
		return nil
	}
	env := b.authEnv()
	env["TOKEN_CACHE_TTL"] = "0"
	var err error
	b.nocache, err = b.start(ctx, "authserver 2 (TOKEN_CACHE_TTL=0)", b.authBin, []string{"serve"}, env)
	return err
}

// measureScale introspects at 1,000, 100,000 and 1,000,000 live access
// tokens, on an auth server of its own prefix with TOKEN_CACHE_TTL=0 (so
// that every request reaches Redis), cycling through up to 100,000 of
// them spread over all. Then the cache-thrash case: a third server with
// the cache on but only 10,000 entries, cycling through 20,000 tokens,
// interleaved with the uncached server.
func (b *bench) measureScale(ctx context.Context) error {
	prefix := b.prefix + "scale:"
	env := b.authEnv()
	env["REDIS_PREFIX"], env["TOKEN_CACHE_TTL"] = prefix, "0"
	sc, err := b.start(ctx, "authserver 3 (own prefix, TOKEN_CACHE_TTL=0)", b.authBin, []string{"serve"}, env)
	if err != nil {
		return err
	}
	defer sc.stop()
	var live []string
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		more, err := b.seed(ctx, prefix, b.ccID, 0, "", false, n-len(live))
		if err != nil {
			return err
		}
		live = append(live, more...)
		sample := spread(live, 100_000)
		res, base, err := b.againstBare(ctx, b.introspectWorkload(sc, fmt.Sprintf("introspect-%d", n), sample), sc)
		if err != nil {
			return err
		}
		b.ratioRow(fmt.Sprintf("W1c introspection at %s live access tokens (TOKEN_CACHE_TTL=0; %s of them in turn)", thousands(n), thousands(len(sample))),
			fmt.Sprintf("introspect-%d", n), res, base, "bare handler (interleaved with it)", 0)
	}
	env = b.authEnv()
	env["REDIS_PREFIX"], env["TOKEN_CACHE_SIZE"] = prefix, "10000"
	th, err := b.start(ctx, "authserver 4 (own prefix, TOKEN_CACHE_SIZE=10000)", b.authBin, []string{"serve"}, env)
	if err != nil {
		return err
	}
	defer th.stop()
	set := spread(live, 20_000)
	on, off, err := b.interleaved(ctx, b.introspectWorkload(th, "thrash-cache-on", set), b.introspectWorkload(sc, "thrash-cache-off", set), th)
	if err != nil {
		return err
	}
	b.ratioRow("W1d cache thrash: introspection with the token cache on (TOKEN_CACHE_SIZE=10000), 20,000 tokens in turn",
		"thrash-cache-on", on, off.rps(), "the same tokens with the cache off (interleaved with it)", 1.0)
	return nil
}

// spread returns at most n of all, evenly spaced.
func spread(all []string, n int) []string {
	if len(all) <= n {
		return all
	}
	out := make([]string, n)
	for i := range out {
		out[i] = all[i*len(all)/n]
	}
	return out
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (b *bench) measureClientCredentials(ctx context.Context) error {
	w := &workload{name: "client_credentials", method: "POST", url: b.authURL + "/o/token/", header: basicHeader(b.ccID, b.ccSecret),
		body: []byte("grant_type=client_credentials"), expect: `"access_token"`}
	res, base, err := b.againstBare(ctx, w, b.authChild)
	if err != nil {
		return err
	}
	b.ratioRow("W2 client_credentials issuance (server-generated secret)", "client_credentials", res, base, "bare handler (interleaved with it)", 0.40)
	w.name = "client_credentials-ceiling"
	return b.ceiling(ctx, "W2", w, res.rps()/base)
}

// ceiling measures w's own requests answered by the bare process with a
// recording of the real server's answer to the first of them: the same
// bytes in and out, the form read, and no other work. Its ratio to the
// bare handler is as high as the workload's ratio can go on this machine;
// ratio is the workload's, measured just before, shown as a share of it.
func (b *bench) ceiling(ctx context.Context, of string, w *workload, ratio float64) error {
	ans, err := b.record(ctx, w)
	if err != nil {
		return fmt.Errorf("%s ceiling: %w", of, err)
	}
	enc, err := json.Marshal(ans)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.bareChild.URL+"/replay", bytes.NewReader(enc))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s ceiling: %w", of, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("%s ceiling: recording the answer: %s", of, resp.Status)
	}
	replay := *w
	replay.url = b.bareChild.URL + "/replay"
	res, base, err := b.againstBare(ctx, &replay, b.bareChild)
	if err != nil {
		return err
	}
	b.ratioRow(fmt.Sprintf("%s ceiling: %s's requests answered by the bare process with the auth server's recorded answer (%d bytes of body, %d header fields), the form read and no other work; %s is %.0f%% of it",
		of, of, len(ans.Body), len(ans.Header)+2, of, 100*ratio/(res.rps()/base)),
		w.name, res, base, "bare handler (interleaved with it)", 0)
	return nil
}

// record sends w's first request to the real server and returns its
// answer, which must be a 2xx holding what w expects.
func (b *bench) record(ctx context.Context, w *workload) (recorded, error) {
	body := w.body
	if len(w.bodies) > 0 {
		body = w.bodies[0]
	}
	req, err := http.NewRequestWithContext(ctx, w.method, w.url, bytes.NewReader(body))
	if err != nil {
		return recorded{}, err
	}
	for k, v := range w.header {
		req.Header[k] = v
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return recorded{}, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return recorded{}, err
	}
	if resp.StatusCode/100 != 2 || !bytes.Contains(got, []byte(w.expect)) {
		return recorded{}, fmt.Errorf("%s answered %s: %s", w.url, resp.Status, truncate(string(got), 200))
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	return recorded{Status: resp.StatusCode, Header: h, Body: got}, nil
}

// measurePassword runs the password grant on an auth server of its own,
// started for it, so that its RSS is the password workload's alone.
func (b *bench) measurePassword(ctx context.Context) error {
	c, err := b.start(ctx, "authserver 5 (password grant only)", b.authBin, []string{"serve"}, b.authEnv())
	if err != nil {
		return err
	}
	defer c.stop()
	w := &workload{name: "password", method: "POST", url: c.URL + "/o/token/", header: basicHeader(b.pwID, b.pwSecret),
		body:   []byte(url.Values{"grant_type": {"password"}, "username": {b.email}, "password": {b.password}}.Encode()),
		expect: `"refresh_token"`}
	// The raw rate is taken in slices interleaved with the workload's own
	// (raw, grants, raw, grants, …), like the HTTP ratios, so that both
	// stand under the same machine noise: a rate taken once before and once
	// after let one disturbed measurement move the ratio by ten points.
	workers := runtime.NumCPU()
	var rates []float64
	res, err := b.alternate(ctx, w, c, func(slice time.Duration) error {
		// A slice of grants ends with derivations still running in the
		// server; they are its work, not the raw slice's, so the raw
		// slice waits for them.
		if err := waitIdle(ctx, c); err != nil {
			return err
		}
		raw, err := b.measureArgon(ctx, workers, slice)
		if err != nil {
			return err
		}
		rates = append(rates, raw.rate)
		return nil
	})
	if err != nil {
		return err
	}
	rss, _ := b.rss.lastPeak()
	var argonRate float64
	for _, r := range rates {
		argonRate += r / float64(len(rates))
	}
	ratio := res.rps() / argonRate
	b.addChecked(res, "password", row{
		figure:   "W3 password-grant issuance (default argon2id params, LOGIN_THROTTLE_LIMIT=1000000)",
		measured: b.perf(res, "password"),
		baseline: fmt.Sprintf("raw argon2id in a process of its own (`bench argon2`, %s, %d goroutines), in %d slices interleaved with the workload's: %.1f/s (slices: %s) → **%.0f%%**",
			b.argon, workers, len(rates), argonRate, rateList(rates), 100*ratio),
		target: "≥ 90% of raw argon2id", verdict: verdict(ratio >= 0.90),
	})
	b.add(row{
		figure:   "W3 RSS: the auth server's peak RSS under the password grant (a process that served nothing else)",
		measured: fmt.Sprintf("**%s** (idle before: %s; its anonymous part, RssAnon, up to %s; the rest is file-backed, almost all of it pages of the binary)", mib(rss), mib(b.rss.idle[c.name]), mib(b.rss.anonPeak(c.name))),
		baseline: fmt.Sprintf("its floor: idle RSS + %d derivations running × %d KiB of argon2id memory = %s", workers, b.argon.memKiB, mib(b.rss.idle[c.name]+int64(workers)*int64(b.argon.memKiB))),
		target:   "≤ 64 MiB", verdict: verdict(rss <= 64*1024),
	})
	return nil
}

func (b *bench) get(ctx context.Context, u, tok string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (b *bench) measureMiddleware(ctx context.Context) error {
	c, err := b.start(ctx, "middleware process (bench mw)", b.self, []string{"mw", "-introspect", b.authURL + "/o/introspect/", "-client-id", b.ccID, "-client-secret", b.ccSecret}, nil)
	if err != nil {
		return err
	}
	b.mwChild = c
	tok, err := b.issueCC(ctx)
	if err != nil {
		return err
	}
	if code, err := b.get(ctx, c.URL+"/protected", tok); err != nil || code != 200 {
		return fmt.Errorf("warming /protected: %d %v\n%s", code, err, c.out.String())
	}
	// Interleaved, like the auth server's ratios: a few seconds of drift on
	// this shared machine moved this ratio by up to 10 points.
	prot, bare, err := b.interleaved(ctx,
		&workload{name: "mw-protected", method: "GET", url: c.URL + "/protected", header: bearer(tok), expect: `"status":"ok"`},
		&workload{name: "mw-bare", method: "GET", url: c.URL + "/bare", expect: `"status":"ok"`}, c)
	if err != nil {
		return err
	}
	b.bareInMWRPS = bare.rps()
	b.addChecked(bare, "mw-bare", row{
		figure:   "W6b same handler without middleware (/bare in the middleware process)",
		measured: b.perf(bare, "mw-bare"),
		baseline: fmt.Sprintf("bare process: %.0f req/s", b.bareRPS),
		target:   "—", verdict: "—",
	})
	b.ratioRow("W6 protected request through middleware/ginauth, warm cache (/protected, same process)", "mw-protected", prot, bare.rps(), "/bare in the same process (interleaved with it)", 0.95)
	return nil
}

// startResourceServer starts the real resource server, if it is not up
// yet.
func (b *bench) startResourceServer(ctx context.Context) error {
	if b.rsChild != nil {
		return nil
	}
	env := map[string]string{
		"DATABASE_URL":                b.rsDB,
		"REDIS_URL":                   b.redisURL,
		"REDIS_PREFIX":                b.prefix,
		"AUTH_SERVER_URL":             b.authURL,
		"INTROSPECTION_CLIENT_ID":     b.ccID,
		"INTROSPECTION_CLIENT_SECRET": b.ccSecret,
		"INTROSPECTION_CACHE_TTL":     "10m",
		"LOG_LEVEL":                   "warn",
		"LOG_FORMAT":                  "json",
	}
	c, err := b.start(ctx, "resourceserver", b.rsBin, []string{"serve"}, env)
	if err != nil {
		return err
	}
	b.rsChild = c
	return nil
}

func (b *bench) measureResourceServer(ctx context.Context) error {
	if err := b.startResourceServer(ctx); err != nil {
		return err
	}
	c := b.rsChild
	// Revocation to refusal: token, cached GET, revoke, poll until 401.
	var lat []time.Duration
	for i := 0; i < b.rounds; i++ {
		tok, err := b.issueCC(ctx)
		if err != nil {
			return err
		}
		if code, err := b.get(ctx, c.URL+"/items/", tok); err != nil || code != 200 {
			return fmt.Errorf("round %d: GET /items/ = %d %v", i, code, err)
		}
		code, body, err := b.form(ctx, "/o/revoke_token/", url.Values{"token": {tok}}, b.ccID, b.ccSecret)
		if err != nil || code != 200 {
			return fmt.Errorf("round %d: revoke = %d %v %s", i, code, err, truncate(string(body), 200))
		}
		revoked := time.Now()
		for {
			code, err := b.get(ctx, c.URL+"/items/", tok)
			if err != nil {
				return err
			}
			if code == 401 {
				lat = append(lat, time.Since(revoked))
				break
			}
			if time.Since(revoked) > 5*time.Second {
				return fmt.Errorf("round %d: revoked token still accepted after 5 s (cache TTL is 10m)", i)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.revP50, b.revP99, b.revMx = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	b.add(row{
		figure:   fmt.Sprintf("W7 revocation-to-refusal latency at the real resource server (%d rounds: token, cached GET /items/, revoke, poll every 0.2 ms until 401; timed from the revoke's 200)", b.rounds),
		measured: fmt.Sprintf("p50 **%s**, p99 **%s** (max %s)", ms(b.revP50), ms(b.revP99), ms(b.revMx)),
		baseline: "—", target: "p99 ≤ 50 ms", verdict: verdict(b.revP99 <= 50*time.Millisecond),
	})
	// A short load on the real resource server: for its RSS under load.
	tok, err := b.issueCC(ctx)
	if err != nil {
		return err
	}
	res, err := b.attack(ctx, &workload{name: "rs-items", method: "GET", url: c.URL + "/items/", header: bearer(tok)}, b.rsLoad, b.sampler(c))
	if err != nil {
		return err
	}
	b.addChecked(res, "rs-items", row{
		figure:   "real resource server GET /items/ (empty list from PostgreSQL), warm cache — informational",
		measured: b.perf(res, "rs-items"),
		baseline: fmt.Sprintf("bare: %.0f req/s → %.0f%%", b.bareRPS, 100*res.rps()/b.bareRPS),
		target:   "—", verdict: "—",
	})
	return nil
}

// measurePasswordChange times PUT /users/password/ for users holding 10 and
// 100,000 token families, three users each, alternating, each after the
// auth server has gone idle (the previous change's background cleanup
// done). Both should be two argon2id derivations (check the old password,
// hash the new) and an epoch bump.
func (b *bench) measurePasswordChange(ctx context.Context) error {
	const rounds = 3
	type subject struct {
		email, password, bearer string
	}
	mk := func(tag string, i, families int) (subject, error) {
		s := subject{email: fmt.Sprintf("pc-%s-%d@example.com", tag, i), password: "Bench-" + randHex(8) + "-horse"}
		if _, err := b.cli(ctx, map[string]string{"SUPERUSER_PASSWORD": s.password}, "createsuperuser", "--email", s.email, "--no-input"); err != nil {
			return s, err
		}
		id, _, err := userByEmail(ctx, b.authDB, s.email)
		if err != nil {
			return s, err
		}
		lines, err := b.seed(ctx, b.prefix, b.pwID, id, s.email, true, families)
		if err != nil {
			return s, err
		}
		s.bearer, _, _ = strings.Cut(lines[0], " ")
		return s, nil
	}
	change := func(s subject) (time.Duration, error) {
		if err := waitIdle(ctx, b.authChild); err != nil {
			return 0, err
		}
		np := "Bench-" + randHex(8) + "-horse"
		start := time.Now()
		code, body, err := b.do(ctx, "PUT", b.authURL+"/users/password/", url.Values{"old_password": {s.password}, "password": {np}, "password2": {np}},
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s.bearer) })
		took := time.Since(start)
		if err != nil || code != 200 {
			return 0, fmt.Errorf("PUT /users/password/ as %s: %d %v %s", s.email, code, err, truncate(string(body), 200))
		}
		return took, nil
	}
	var few, many []time.Duration
	for i := range rounds {
		s10, err := mk("10", i, 10)
		if err != nil {
			return err
		}
		sMany, err := mk("100k", i, 100_000)
		if err != nil {
			return err
		}
		d, err := change(s10)
		if err != nil {
			return err
		}
		few = append(few, d)
		if d, err = change(sMany); err != nil {
			return err
		}
		many = append(many, d)
	}
	one, err := b.measureArgon(ctx, 1, b.argonFor)
	if err != nil {
		return err
	}
	sort.Slice(few, func(i, j int) bool { return few[i] < few[j] })
	sort.Slice(many, func(i, j int) bool { return many[i] < many[j] })
	m10, m100k := few[rounds/2], many[rounds/2]
	ratio := float64(m100k) / float64(m10)
	b.add(row{
		figure:   fmt.Sprintf("W8 PUT /users/password/ at 10 and at 100,000 token families (median of %d users each, alternating, each after the auth server went idle)", rounds),
		measured: fmt.Sprintf("10 families: **%s**; 100,000: **%s** → **%.0f%%** (all: %s / %s)", ms(m10), ms(m100k), 100*ratio, msList(few), msList(many)),
		baseline: fmt.Sprintf("two argon2id derivations (check the old, hash the new) on one goroutine, `bench argon2`: %s", ms(2*one.perOp)),
		target:   "100,000 within 10% of 10 (≤ 110%)", verdict: verdict(ratio <= 1.10),
	})
	return nil
}

func msList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.1f", float64(d)/1e6)
	}
	return strings.Join(parts, ", ") + " ms"
}

// rateList formats per-second rates, one decimal each.
func rateList(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.1f", r)
	}
	return strings.Join(parts, ", ") + "/s"
}

// waitIdle waits until c has used under 10 ms of CPU in 250 ms: the work
// that a previous request left running in the background is done.
func waitIdle(ctx context.Context, c *child) error {
	deadline := time.Now().Add(2 * time.Minute)
	last := cpuTime(c.pid())
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		now := cpuTime(c.pid())
		if now-last < 10*time.Millisecond {
			return nil
		}
		last = now
	}
	return fmt.Errorf("%s stayed busy for 2 minutes", c.name)
}

// readMicro adds the `go test -bench` figures deploy/bench.sh ran before
// the servers started.
func (b *bench) readMicro(ctx context.Context) error {
	if b.microFile == "" {
		return nil
	}
	data, err := os.ReadFile(b.microFile)
	if err != nil {
		return err
	}
	ns := map[string]float64{}
	extra := map[string]string{}
	var order []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		if _, seen := ns[name]; !seen {
			order = append(order, name)
		}
		ns[name] = v
		extra[name] = strings.Join(f[4:], " ")
	}
	target := func(name string) (string, string) {
		if strings.HasPrefix(name, "BenchmarkRevocationEvent") {
			return "≤ 2 µs per event", verdict(ns[name] <= 2000)
		}
		return "—", "—"
	}
	for _, name := range order {
		t, v := target(name)
		b.micro = append(b.micro, row{figure: name, measured: fmt.Sprintf("**%s**", nsString(ns[name])), baseline: extra[name], target: t, verdict: v})
	}
	plain, rs, es := ns["BenchmarkCodeExchange/plain"], ns["BenchmarkCodeExchange/openid-RS256"], ns["BenchmarkCodeExchange/openid-ES256"]
	signRS, signES := ns["BenchmarkSign/RS256"], ns["BenchmarkSign/ES256"]
	if plain > 0 && rs > 0 && es > 0 && signRS > 0 && signES > 0 {
		b.micro = append(b.micro, row{
			figure:   "what `openid` adds to the code exchange, against one signature",
			measured: fmt.Sprintf("RS256: %s; ES256: %s", signedNS(rs-plain), signedNS(es-plain)),
			baseline: fmt.Sprintf("one signature: RS256 %s, ES256 %s", nsString(signRS), nsString(signES)),
			target:   "about one signature", verdict: "—",
		})
	}
	return nil
}

// signedNS is nsString with the sign always shown.
func signedNS(v float64) string {
	if v < 0 {
		return "−" + nsString(-v)
	}
	return "+" + nsString(v)
}

func nsString(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f ns", v)
}

// run runs bin to completion in the bench's directory, with env (nil:
// PATH and HOME only), and returns its stdout. An error carries its
// stderr, not its stdout, which may hold a generated secret.
func (b *bench) run(ctx context.Context, env map[string]string, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = envList(env)
	cmd.Dir = b.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		what := filepath.Base(bin) // not the arguments: a URL may hold a password
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			what += " " + args[0]
		}
		return "", fmt.Errorf("%s: %v\n%s", what, err, errb.String())
	}
	return out.String(), nil
}
