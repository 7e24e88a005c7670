package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/crypto/argon2"

	"github.com/portcullis-oauth/portcullis/e2e/internal/rediskeys"
)

// bench holds one run's services, clients and figures.
type bench struct {
	load                  loadConfig
	authBin, rsBin, self  string
	dir                   string
	pg                    *pgSchemas
	rdb                   *redis.Client
	redisURL, prefix      string
	authDB, rsDB          string
	children              []*child
	rss                   *rssTracker
	hc                    *http.Client
	authURL               string
	ccID, ccSecret        string // client_credentials client, generated secret
	pwID, pwSecret        string // password+refresh_token client, generated secret
	email, password       string
	rows                  []row
	loud                  []string
	rounds, tokens, pool  int
	rsLoad                time.Duration
	argonFor              time.Duration
	started               time.Time
	bareRPS, bareInMWRPS  float64
	authChild, rsChild    *child
	mwChild, bareChild    *child
	argon                 argonParams
	refreshSeed           []string
	refreshSeedMu         sync.Mutex
	memBytes, memKeys     int64
	memTokens             int
	revP50, revP99, revMx time.Duration
}

// row is one line of the table.
type row struct {
	figure, measured, baseline, target, verdict string
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	authBin := fs.String("authserver", "", "path to the authserver binary (required)")
	rsBin := fs.String("resourceserver", "", "path to the resourceserver binary (required)")
	dbURL := fs.String("database-url", envOr("BENCH_DATABASE_URL", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")), "PostgreSQL URL (a fresh schema is used and dropped)")
	redisURL := fs.String("redis-url", envOr("BENCH_REDIS_URL", envOr("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")), "Redis URL (a random key prefix is used and deleted)")
	out := fs.String("out", "", "also write the table as markdown to this file")
	conns := fs.Int("c", 16, "connections (= workers) of every load")
	du := fs.Duration("duration", 6*time.Second, "measured length of each workload")
	warm := fs.Duration("warmup", time.Second, "warm-up before each workload")
	rounds := fs.Int("rounds", 100, "revocation-to-refusal rounds")
	tokens := fs.Int("tokens", 2000, "live access tokens issued for the Redis memory figure")
	pool := fs.Int("refresh-pool", 64, "refresh token families in the refresh workload's pool")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *authBin == "" || *rsBin == "" {
		return errors.New("-authserver and -resourceserver are required (deploy/bench.sh builds them)")
	}
	for _, p := range []*string{authBin, rsBin} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("binary: %w", err)
		}
		*p = abs
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "portcullis-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{
		load:    loadConfig{conns: *conns, warmup: *warm, duration: *du},
		authBin: *authBin, rsBin: *rsBin, self: self, dir: dir,
		redisURL: *redisURL, prefix: "bench" + randHex(4) + ":",
		rss: newRSSTracker(), hc: &http.Client{Timeout: 15 * time.Second},
		rounds: *rounds, tokens: *tokens, pool: *pool,
		rsLoad: 4 * time.Second, argonFor: 3 * time.Second, started: time.Now(),
		email: "bench@example.com", password: "Bench-" + randHex(8) + "-horse",
	}
	defer b.cleanup()

	if b.pg, err = openPG(ctx, *dbURL); err != nil {
		return err
	}
	if b.rdb, err = openRedis(ctx, *redisURL); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"set up the auth server's data", b.setup},
		{"bare Gin handler", b.measureBare},
		{"start the auth server", b.startAuth},
		{"Redis bytes per token", b.measureMemory},
		{"introspection", b.measureIntrospection},
		{"client_credentials", b.measureClientCredentials},
		{"password grant", b.measurePassword},
		{"refresh rotation", b.measureRefresh},
		{"middleware", b.measureMiddleware},
		{"resource server", b.measureResourceServer},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: %-32s (t=%4.0fs)\n", s.name, time.Since(b.started).Seconds())
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	b.rssRows()

	table := b.render()
	fmt.Print(table)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
			return err
		}
	}
	if len(b.loud) > 0 {
		return fmt.Errorf("%d workload(s) had more than 1%% errors:\n  %s", len(b.loud), strings.Join(b.loud, "\n  "))
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// cleanup stops every child by PID and drops the schemas and Redis keys.
func (b *bench) cleanup() {
	for i := len(b.children) - 1; i >= 0; i-- {
		b.children[i].stop()
	}
	if b.rdb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = rediskeys.Delete(ctx, b.rdb, b.prefix)
		cancel()
		b.rdb.Close()
	}
	if b.pg != nil {
		b.pg.close()
	}
}

func (b *bench) authEnv() map[string]string {
	return map[string]string{
		"DATABASE_URL":         b.authDB,
		"REDIS_URL":            b.redisURL,
		"REDIS_PREFIX":         b.prefix,
		"LOG_LEVEL":            "warn",
		"LOG_FORMAT":           "json",
		"LOGIN_THROTTLE_LIMIT": "1000000",
	}
}

// cli runs an authserver subcommand and returns its stdout.
func (b *bench) cli(ctx context.Context, extra map[string]string, args ...string) (string, error) {
	env := b.authEnv()
	for k, v := range extra {
		env[k] = v
	}
	cmd := exec.CommandContext(ctx, b.authBin, args...)
	cmd.Env = envList(env)
	cmd.Dir = b.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("authserver %s: %v\n%s%s", args[0], err, out.String(), errb.String())
	}
	return out.String(), nil
}

func field(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// setup creates the schemas, migrates, registers two clients with
// generated secrets and a user, and reads the server's argon2id params
// from the user's stored hash.
func (b *bench) setup(ctx context.Context) error {
	var err error
	if b.authDB, err = b.pg.fresh(ctx, "auth"); err != nil {
		return err
	}
	if b.rsDB, err = b.pg.fresh(ctx, "rs"); err != nil {
		return err
	}
	if _, err := b.cli(ctx, nil, "migrate"); err != nil {
		return err
	}
	out, err := b.cli(ctx, nil, "createclient", "--name", "bench-cc", "--client-type", "confidential", "--grant-types", "client_credentials")
	if err != nil {
		return err
	}
	if b.ccID, b.ccSecret = field(out, "client_id"), field(out, "client_secret"); b.ccID == "" || b.ccSecret == "" {
		return fmt.Errorf("createclient printed no client_id/client_secret:\n%s", out)
	}
	out, err = b.cli(ctx, nil, "createclient", "--name", "bench-pw", "--client-type", "confidential", "--grant-types", "password,refresh_token")
	if err != nil {
		return err
	}
	if b.pwID, b.pwSecret = field(out, "client_id"), field(out, "client_secret"); b.pwID == "" || b.pwSecret == "" {
		return fmt.Errorf("createclient printed no client_id/client_secret:\n%s", out)
	}
	if _, err := b.cli(ctx, map[string]string{"SUPERUSER_PASSWORD": b.password}, "createsuperuser", "--email", b.email, "--no-input"); err != nil {
		return err
	}
	phc, err := userPHC(ctx, b.authDB)
	if err != nil {
		return fmt.Errorf("read the user's password hash: %w", err)
	}
	if b.argon, err = parsePHC(phc); err != nil {
		return err
	}
	return nil
}

// measureArgon counts argon2id derivations per second with the server's
// exact params, one goroutine per core, in this process.
// measureArgon returns the raw argon2id rate of GOMAXPROCS goroutines
// deriving keys for argonFor, with the auth server's parameters.
func (b *bench) measureArgon(ctx context.Context) (float64, error) {
	p := b.argon
	salt := make([]byte, p.saltLen)
	pw := []byte(b.password)
	_ = argon2.IDKey(pw, salt, p.time, p.memKiB, p.threads, p.keyLen) // warm the allocator
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(b.argonFor)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				_ = argon2.IDKey(pw, salt, p.time, p.memKiB, p.threads, p.keyLen)
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "bench:   %-20s %.1f/s\n", "raw argon2id", float64(n.Load())/time.Since(start).Seconds())
	return float64(n.Load()) / time.Since(start).Seconds(), ctx.Err()
}

func (b *bench) start(ctx context.Context, name, bin string, args []string, env map[string]string) (*child, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if env != nil {
		env["PORT"] = strconv.Itoa(port)
	}
	a := append([]string(nil), args...)
	if env == nil { // our own subcommands take -port
		a = append(a, "-port", strconv.Itoa(port))
	}
	c, err := startChild(ctx, name, bin, a, envList(env), port, b.dir)
	if err != nil {
		return nil, err
	}
	b.children = append(b.children, c)
	b.rss.markIdle(c)
	return c, nil
}

func (b *bench) measureBare(ctx context.Context) error {
	c, err := b.start(ctx, "bare Gin process", b.self, []string{"bare"}, nil)
	if err != nil {
		return err
	}
	b.bareChild = c
	res, err := attack(ctx, b.load, "bare", staticTargeter("GET", c.URL+"/", nil, nil), nil, nil, b.sampler(c))
	if err != nil {
		return err
	}
	b.bareRPS = res.rps()
	b.add(row{
		figure:   "bare Gin JSON handler (separate process, release mode, no middleware)",
		measured: b.perf(res, "bare"),
		baseline: "this is the limit",
		target:   "—", verdict: "—",
	})
	return nil // it stays up, idle, for the adjacent baselines
}

// baselineRounds is how many baseline/workload slice pairs interleaved runs.
const baselineRounds = 4

// againstBare measures a workload against the bare handler, interleaved. It
// returns the workload's merged result and the bare handler's rate over its
// slices.
func (b *bench) againstBare(ctx context.Context, name string, tr vegeta.Targeter, ok check, each func(*vegeta.Result), c *child) (result, float64, error) {
	work, bare, err := b.interleaved(ctx, name, tr, ok, each, "bare-"+name, staticTargeter("GET", b.bareChild.URL+"/", nil, nil), c)
	if err != nil {
		return result{}, 0, err
	}
	fmt.Fprintf(os.Stderr, "bench:   %-20s %.0f req/s (over its %d slices)\n", "bare (interleaved)", bare.rps(), baselineRounds)
	return work, bare.rps(), nil
}

// interleaved measures a workload and its baseline in alternating slices
// (baseline, workload, baseline, workload, …; baselineRounds of each, the
// workload's adding up to the configured duration), so that the two
// figures of a ratio share the machine's drift instead of standing a few
// seconds apart on a shared, noisy machine. It returns both merged
// results; a baseline slice with more than 1% errors fails the run. c is
// the process whose memory is sampled.
func (b *bench) interleaved(ctx context.Context, name string, tr vegeta.Targeter, ok check, each func(*vegeta.Result), baseName string, baseTr vegeta.Targeter, c *child) (work, base result, err error) {
	slice := b.load.duration / baselineRounds
	if b.load.warmup > 0 {
		if _, err := attackOnce(ctx, b.load, name+"-warmup", b.load.warmup, tr, ok, each); err != nil {
			return result{}, result{}, err
		}
	}
	stop, finished := make(chan struct{}), make(chan struct{})
	go func() { b.rss.sample(c, stop); close(finished) }()
	defer func() { close(stop); <-finished }()
	for i := range baselineRounds {
		br, err := attackOnce(ctx, b.load, baseName, slice, baseTr, nil, nil)
		if err != nil {
			return result{}, result{}, err
		}
		if br.errRate() > 0.01 {
			return result{}, result{}, fmt.Errorf("%s: %d of %d requests failed: %s", baseName, br.bad, br.ok+br.bad, br.errSummary())
		}
		wr, err := attackOnce(ctx, b.load, name, slice, tr, ok, each)
		if err != nil {
			return result{}, result{}, err
		}
		if i == 0 {
			work, base = wr, br
		} else {
			work, base = work.merge(wr), base.merge(br)
		}
	}
	return work, base, nil
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
	req, err := http.NewRequestWithContext(ctx, "POST", b.authURL+path, strings.NewReader(vals.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
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

// measureMemory issues K live access tokens on an otherwise empty prefix
// and divides the growth of the prefix's MEMORY USAGE by K.
func (b *bench) measureMemory(ctx context.Context) error {
	before, keysBefore, err := prefixMemory(ctx, b.rdb, b.prefix)
	if err != nil {
		return err
	}
	var next atomic.Int64
	errc := make(chan error, b.load.conns)
	var wg sync.WaitGroup
	for range b.load.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.tokens) {
				if _, err := b.issueCC(ctx); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	after, keysAfter, err := prefixMemory(ctx, b.rdb, b.prefix)
	if err != nil {
		return err
	}
	b.memBytes, b.memKeys, b.memTokens = after-before, keysAfter-keysBefore, b.tokens
	per := float64(b.memBytes) / float64(b.tokens)
	b.add(row{
		figure:   fmt.Sprintf("Redis bytes per live access token (K=%d client_credentials tokens; SCAN the prefix, sum MEMORY USAGE … SAMPLES 0, ÷K)", b.tokens),
		measured: fmt.Sprintf("**%.0f B** (%d B over %d new keys; %d keys before)", per, b.memBytes, b.memKeys, keysBefore),
		baseline: "—", target: "≤ 400 B", verdict: verdict(per <= 400),
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

func contains(s string) check {
	return func(r *vegeta.Result) bool { return bytes.Contains(r.Body, []byte(s)) }
}

// introspectPool is how many live tokens the introspection workloads cycle
// through, so that no figure rests on one hot key.
const introspectPool = 1000

// measureIntrospection introspects a pool of live tokens on the auth server
// as configured by default (token cache on), then, for comparison, on a
// second auth server with TOKEN_CACHE_TTL=0, where every introspection is
// one Redis GET.
func (b *bench) measureIntrospection(ctx context.Context) error {
	bodies := make([][]byte, introspectPool)
	for i := range bodies {
		tok, err := b.issueCC(ctx)
		if err != nil {
			return err
		}
		bodies[i] = []byte(url.Values{"token": {tok}}.Encode())
	}
	active := func(r *vegeta.Result) bool {
		return bytes.Contains(r.Body, []byte(`"active":true`)) || bytes.Contains(r.Body, []byte(`"active": true`))
	}
	run := func(c *child, name string) (result, float64, error) {
		return b.againstBare(ctx, name, poolTargeter("POST", c.URL+"/o/introspect/", bodies, basicHeader(b.ccID, b.ccSecret)), active, nil, c)
	}
	res, base, err := run(b.authChild, "introspect")
	if err != nil {
		return err
	}
	b.ratioRow(fmt.Sprintf("introspection of a valid token (POST /o/introspect/, Basic auth, generated secret; %d live tokens in turn; token cache on, the default)", introspectPool),
		"introspect", res, base, "bare handler (interleaved with it)", 0.60)

	env := b.authEnv()
	env["TOKEN_CACHE_TTL"] = "0"
	uncached, err := b.start(ctx, "authserver (TOKEN_CACHE_TTL=0)", b.authBin, []string{"serve"}, env)
	if err != nil {
		return err
	}
	defer uncached.stop()
	res, base, err = run(uncached, "introspect-nocache")
	if err != nil {
		return err
	}
	b.ratioRow("the same with `TOKEN_CACHE_TTL=0` (a second auth server: one Redis GET per introspection)",
		"introspect-nocache", res, base, "bare handler (interleaved with it)", 0)
	return nil
}

func (b *bench) measureClientCredentials(ctx context.Context) error {
	body := []byte("grant_type=client_credentials")
	res, base, err := b.againstBare(ctx, "client_credentials", staticTargeter("POST", b.authURL+"/o/token/", body, basicHeader(b.ccID, b.ccSecret)), contains(`"access_token"`), nil, b.authChild)
	if err != nil {
		return err
	}
	b.ratioRow("client_credentials issuance (server-generated secret)", "client_credentials", res, base, "bare handler (interleaved with it)", 0.40)
	return nil
}

func (b *bench) measurePassword(ctx context.Context) error {
	body := []byte(url.Values{"grant_type": {"password"}, "username": {b.email}, "password": {b.password}}.Encode())
	keep := func(r *vegeta.Result) { // seed the refresh pool from live families
		var tr tokenResponse
		if r.Code == 200 && json.Unmarshal(r.Body, &tr) == nil && tr.RefreshToken != "" {
			b.refreshSeedMu.Lock()
			b.refreshSeed = append(b.refreshSeed, tr.RefreshToken)
			if len(b.refreshSeed) > b.pool {
				b.refreshSeed = b.refreshSeed[len(b.refreshSeed)-b.pool:]
			}
			b.refreshSeedMu.Unlock()
		}
	}
	// The raw rate is taken just before and just after the workload, and
	// averaged, so that both stand under the same machine noise.
	before, err := b.measureArgon(ctx)
	if err != nil {
		return err
	}
	res, err := attack(ctx, b.load, "password", staticTargeter("POST", b.authURL+"/o/token/", body, basicHeader(b.pwID, b.pwSecret)), contains(`"refresh_token"`), keep, b.sampler(b.authChild))
	if err != nil {
		return err
	}
	after, err := b.measureArgon(ctx)
	if err != nil {
		return err
	}
	argonRate := (before + after) / 2
	ratio := res.rps() / argonRate
	b.addChecked(res, "password", row{
		figure:   "password-grant issuance (default argon2id params, LOGIN_THROTTLE_LIMIT=1000000)",
		measured: b.perf(res, "password"),
		baseline: fmt.Sprintf("raw argon2id: %.1f verifications/s (mean of %.1f just before and %.1f just after; %s; %d goroutines on %d cores, in the bench process) → **%.0f%%**",
			argonRate, before, after, b.argon, runtime.GOMAXPROCS(0), runtime.NumCPU(), 100*ratio),
		target: "within 10% (≥ 90%)", verdict: verdict(ratio >= 0.90),
	})
	return nil
}

func (b *bench) measureRefresh(ctx context.Context) error {
	b.refreshSeedMu.Lock()
	seed := append([]string(nil), b.refreshSeed...)
	b.refreshSeedMu.Unlock()
	for len(seed) < b.pool { // top up when the password run was short
		code, body, err := b.form(ctx, "/o/token/", url.Values{"grant_type": {"password"}, "username": {b.email}, "password": {b.password}}, b.pwID, b.pwSecret)
		var tr tokenResponse
		if err != nil || code != 200 || json.Unmarshal(body, &tr) != nil {
			return fmt.Errorf("password grant for the refresh pool: %d %v %s", code, err, truncate(string(body), 200))
		}
		seed = append(seed, tr.RefreshToken)
	}
	pool := make(chan string, len(seed)+b.load.conns)
	for _, s := range seed {
		pool <- s
	}
	hdr := basicHeader(b.pwID, b.pwSecret)
	tr := func(t *vegeta.Target) error {
		select {
		case rt := <-pool:
			t.Method, t.URL, t.Header = "POST", b.authURL+"/o/token/", hdr
			t.Body = []byte("grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt))
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("refresh pool ran dry (every family failed)")
		}
	}
	recycle := func(r *vegeta.Result) {
		if rt := refreshTokenIn(r.Body); r.Code == 200 && rt != "" {
			select {
			case pool <- rt:
			default:
			}
		}
	}
	res, base, err := b.againstBare(ctx, "refresh", tr, contains(`"refresh_token"`), recycle, b.authChild)
	if err != nil {
		return err
	}
	b.ratioRow(fmt.Sprintf("refresh with rotation (pool of %d live families; each new refresh_token goes back in)", len(seed)), "refresh", res, base, "bare handler (interleaved with it)", 0.30)
	return nil
}

func bearer(tok string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	return h
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
	prot, bare, err := b.interleaved(ctx, "mw-protected", staticTargeter("GET", c.URL+"/protected", nil, bearer(tok)), nil, nil,
		"mw-bare", staticTargeter("GET", c.URL+"/bare", nil, nil), c)
	if err != nil {
		return err
	}
	b.bareInMWRPS = bare.rps()
	b.addChecked(bare, "mw-bare", row{
		figure:   "same handler without middleware (/bare in the middleware process)",
		measured: b.perf(bare, "mw-bare"),
		baseline: fmt.Sprintf("bare process: %.0f req/s", b.bareRPS),
		target:   "—", verdict: "—",
	})
	b.ratioRow("protected request through middleware/ginauth, warm cache (/protected, same process)", "mw-protected", prot, bare.rps(), "/bare in the same process (interleaved with it)", 0.90)
	return nil
}

func (b *bench) measureResourceServer(ctx context.Context) error {
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
	sortDurations(lat)
	b.revP50, b.revP99, b.revMx = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	b.add(row{
		figure:   fmt.Sprintf("revocation-to-refusal latency at the real resource server (%d rounds: token, cached GET /items/, revoke, poll every 0.2 ms until 401; timed from the revoke's 200)", b.rounds),
		measured: fmt.Sprintf("p50 **%s**, p99 **%s** (max %s)", ms(b.revP50), ms(b.revP99), ms(b.revMx)),
		baseline: "—", target: "p99 ≤ 50 ms", verdict: verdict(b.revP99 <= 50*time.Millisecond),
	})
	// A short load on the real resource server: for its RSS under load.
	tok, err := b.issueCC(ctx)
	if err != nil {
		return err
	}
	cfg := b.load
	cfg.duration = b.rsLoad
	res, err := attack(ctx, cfg, "rs-items", staticTargeter("GET", c.URL+"/items/", nil, bearer(tok)), nil, nil, b.sampler(c))
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

// sampler records c's peak RSS while a load runs.
func (b *bench) sampler(c *child) func(<-chan struct{}) {
	return func(stop <-chan struct{}) { b.rss.sample(c, stop) }
}

func (b *bench) rssRows() {
	b.rss.mu.Lock()
	defer b.rss.mu.Unlock()
	for _, name := range b.rss.order {
		b.rows = append(b.rows, row{
			figure:   "RSS of " + name + " (VmRSS), idle → peak under load",
			measured: fmt.Sprintf("%s → %s", mib(b.rss.idle[name]), mib(b.rss.peak[name])),
			baseline: "—", target: "—", verdict: "—",
		})
	}
}

func (b *bench) add(r row) { b.rows = append(b.rows, r) }

// addChecked adds r, or a FAILED row when more than 1% of requests failed.
func (b *bench) addChecked(res result, name string, r row) {
	if res.errRate() > 0.01 {
		msg := fmt.Sprintf("%s: %d of %d requests failed (%.1f%%): %s", name, res.bad, res.ok+res.bad, 100*res.errRate(), res.errSummary())
		b.loud = append(b.loud, msg)
		r.verdict = "**FAILED: >1% errors**"
		fmt.Fprintln(os.Stderr, "bench: ERROR", msg)
	}
	b.add(r)
}

// ratioRow adds a figure judged as a ratio to base; want 0 means no target
// (a figure shown for comparison).
func (b *bench) ratioRow(figure, name string, res result, base float64, baseName string, want float64) {
	ratio := res.rps() / base
	r := row{
		figure:   figure,
		measured: b.perf(res, name),
		baseline: fmt.Sprintf("%s: %.0f req/s → **%.0f%%**", baseName, base, 100*ratio),
		target:   "— (for comparison)", verdict: "—",
	}
	if want > 0 {
		r.target, r.verdict = fmt.Sprintf("≥ %.0f%% of %s", 100*want, baseName), verdict(ratio >= want)
	}
	b.addChecked(res, name, r)
}

func (b *bench) perf(res result, name string) string {
	s := fmt.Sprintf("**%.0f req/s**, p50 %s, p99 %s", res.rps(), ms(res.p50), ms(res.p99))
	if res.bad > 0 {
		s += fmt.Sprintf(" (%d non-2xx/errors of %d)", res.bad, res.ok+res.bad)
	}
	fmt.Fprintf(os.Stderr, "bench:   %-20s %s\n", name, strings.ReplaceAll(s, "**", ""))
	return s
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**NOT met**"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func sortDurations(d []time.Duration) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// render builds the markdown report.
func (b *bench) render() string {
	var s strings.Builder
	fmt.Fprintf(&s, "Portcullis `make bench`, %s, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version())
	fmt.Fprintf(&s, "Machine: %d cores (%s). **The load generator (vegeta, %d keep-alive connections at max rate, %s warm-up then %s per workload) and every server share this %d-core machine**, so each figure is bounded by the load generator's own CPU use; ratios in the same run are the fair comparison. A ratio to the bare handler takes that baseline in %d slices interleaved with the workload's own %d (bare, workload, bare, …, %s each), so that both share the machine's drift.\n\n",
		runtime.NumCPU(), cpuModel(), b.load.conns, b.load.warmup, b.load.duration, runtime.NumCPU(), baselineRounds, baselineRounds, b.load.duration/baselineRounds)
	s.WriteString("| figure | measured | baseline in the same run | target | verdict |\n| --- | --- | --- | --- | --- |\n")
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", r.figure, r.measured, r.baseline, r.target, r.verdict)
	}
	fmt.Fprintf(&s, "\nServers: authserver and resourceserver with LOG_LEVEL=warn, default argon2id params, real PostgreSQL and Redis; whole run %.0f s.\n", time.Since(b.started).Seconds())
	return s.String()
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
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
