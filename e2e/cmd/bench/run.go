package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/e2e/internal/rediskeys"
)

// bench holds one run's services, clients and figures.
type bench struct {
	load                  loadConfig
	drv                   driver
	authBin, rsBin, self  string
	seedBin, microFile    string
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
	micro                 []row
	loud                  []string
	rounds, tokens        int
	rsLoad                time.Duration
	argonFor              time.Duration
	started               time.Time
	bareRPS, bareInMWRPS  float64
	authChild, rsChild    *child
	mwChild, bareChild    *child
	nocache               *child // the second auth server, TOKEN_CACHE_TTL=0
	argon                 argonParams
	refresh               *refreshPool
	revP50, revP99, revMx time.Duration
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	authBin := fs.String("authserver", "", "path to the authserver binary (required)")
	rsBin := fs.String("resourceserver", "", "path to the resourceserver binary (required)")
	seedBin := fs.String("benchseed", "", "path to the benchseed binary (authserver/cmd/benchseed; required)")
	micro := fs.String("micro", "", "a file of `go test -bench` output to add as the micro-benchmark table")
	gen := fs.String("load", "auto", "load generator: wrk, vegeta, or auto (wrk when on PATH, else vegeta)")
	dbURL := fs.String("database-url", envOr("BENCH_DATABASE_URL", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")), "PostgreSQL URL (a fresh schema is used and dropped)")
	redisURL := fs.String("redis-url", envOr("BENCH_REDIS_URL", envOr("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")), "Redis URL (a random key prefix is used and deleted)")
	out := fs.String("out", "", "also write the table as markdown to this file")
	conns := fs.Int("c", 16, "connections of every load")
	du := fs.Duration("duration", 8*time.Second, "measured length of each workload (wrk rounds each of its four slices up to whole seconds)")
	warm := fs.Duration("warmup", time.Second, "warm-up before each workload")
	rounds := fs.Int("rounds", 100, "revocation-to-refusal rounds")
	tokens := fs.Int("tokens", 2000, "live access tokens issued for the Redis memory figure")
	pool := fs.Int("refresh-pool", 64, "refresh token families in the refresh workload's pool")
	only := fs.String("only", "", "run only these steps, comma-separated: memory, refresh, introspection, scale, client_credentials, password, middleware, resourceserver, password_change, micro (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *authBin == "" || *rsBin == "" || *seedBin == "" {
		return errors.New("-authserver, -resourceserver and -benchseed are required (deploy/bench.sh builds them)")
	}
	for _, p := range []*string{authBin, rsBin, seedBin} {
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
		authBin: *authBin, rsBin: *rsBin, seedBin: *seedBin, microFile: *micro, self: self, dir: dir,
		redisURL: *redisURL, prefix: "bench" + randHex(4) + ":",
		rss: newRSSTracker(), hc: &http.Client{Timeout: 15 * time.Second},
		rounds: *rounds, tokens: *tokens, refresh: &refreshPool{size: *pool},
		rsLoad: 4 * time.Second, argonFor: 3 * time.Second, started: time.Now(),
		email: "bench@example.com", password: "Bench-" + randHex(8) + "-horse",
	}
	if b.drv, err = pickDriver(*gen, dir); err != nil {
		return err
	}
	defer b.cleanup()

	if b.pg, err = openPG(ctx, *dbURL); err != nil {
		return err
	}
	if b.rdb, err = openRedis(ctx, *redisURL); err != nil {
		return err
	}
	steps := []step{
		{"", "set up the auth server's data", b.setup},
		{"", "bare Gin handler", b.measureBare},
		{"", "start the auth server", b.startAuth},
		{"memory", "Redis bytes per token", b.measureMemory},
		{"refresh", "refresh, with and without subscribers", b.measureRefresh},
		{"introspection", "introspection", b.measureIntrospection},
		{"scale", "introspection at scale", b.measureScale},
		{"client_credentials", "client_credentials", b.measureClientCredentials},
		{"password", "password grant", b.measurePassword},
		{"middleware", "middleware", b.measureMiddleware},
		{"resourceserver", "resource server", b.measureResourceServer},
		{"password_change", "password change", b.measurePasswordChange},
		{"micro", "micro-benchmarks", b.readMicro},
	}
	want := map[string]bool{}
	for _, k := range strings.Split(*only, ",") {
		if k = strings.TrimSpace(k); k != "" {
			want[k] = true
		}
	}
	for k := range want {
		if !slices.ContainsFunc(steps, func(s step) bool { return s.key == k }) {
			return fmt.Errorf("-only %q: no such step", k)
		}
	}
	for _, s := range steps {
		if s.key != "" && len(want) > 0 && !want[s.key] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: %-32s (t=%4.0fs)\n", s.name, time.Since(b.started).Seconds())
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w%s", s.name, err, b.exited())
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

// exited reports the children that died, with the end of their output.
func (b *bench) exited() string {
	var s strings.Builder
	for _, c := range b.children {
		select {
		case <-c.done:
			fmt.Fprintf(&s, "\n%s exited (%v); its last output:\n%s", c.name, c.cmd.ProcessState, truncate(c.out.String(), 4000))
		default:
		}
	}
	return s.String()
}

// step is one part of a run; a key of "" always runs, the others can be
// picked with -only.
type step struct {
	key, name string
	fn        func(context.Context) error
}

// pickDriver chooses the load generator: wrk when asked for or found.
func pickDriver(gen, dir string) (driver, error) {
	switch gen {
	case "wrk", "auto":
		bin, err := exec.LookPath("wrk")
		if err == nil {
			return newWrkDriver(bin, dir)
		}
		if gen == "wrk" {
			return nil, errors.New("wrk is not on PATH (Debian: apt-get install wrk)")
		}
		fmt.Fprintln(os.Stderr, "bench: wrk is not on PATH; falling back to vegeta (the table says so)")
		return vegetaDriver{}, nil
	case "vegeta":
		return vegetaDriver{}, nil
	}
	return nil, fmt.Errorf("-load %q: want wrk, vegeta or auto", gen)
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
	return b.run(ctx, env, b.authBin, args...)
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
	var phc string
	if _, phc, err = userByEmail(ctx, b.authDB, b.email); err != nil {
		return fmt.Errorf("read the user's password hash: %w", err)
	}
	if b.argon, err = parsePHC(phc); err != nil {
		return err
	}
	return nil
}

// retire stops c, a child the run no longer needs, by PID; it is no longer
// reported as exited.
func (b *bench) retire(c *child) {
	if c == nil {
		return
	}
	c.stop()
	b.children = slices.DeleteFunc(b.children, func(o *child) bool { return o == c })
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
