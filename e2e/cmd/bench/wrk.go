package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wrkScript is the one Lua script every wrk run uses; it is kept in the
// repository as wrk/bench.lua.
//
//go:embed wrk/bench.lua
var wrkScript []byte

// wrkDriver runs Debian's wrk (`wrk -t1 -cN`) as a separate process for
// each run, with wrk/bench.lua building the requests and checking every
// answer. wrk takes whole seconds, so runs are rounded up to them.
type wrkDriver struct {
	bin, dir, script string
	mu               sync.Mutex
	files            map[*workload]string // bodies written for a workload
	version          string
}

func newWrkDriver(bin, dir string) (*wrkDriver, error) {
	script := filepath.Join(dir, "bench.lua")
	if err := os.WriteFile(script, wrkScript, 0o644); err != nil {
		return nil, err
	}
	out, _ := exec.Command(bin, "--version").CombinedOutput() // prints the version, exits 1
	v := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	return &wrkDriver{bin: bin, dir: dir, script: script, files: map[*workload]string{}, version: v}, nil
}

func (d *wrkDriver) name() string { return "wrk" }

func (d *wrkDriver) describe(cfg loadConfig) string {
	return fmt.Sprintf("wrk (`%s`; `wrk -t1 -c%d`, the Lua script e2e/cmd/bench/wrk/bench.lua checking every answer)", d.version, cfg.conns)
}

// wrkOut is the line bench.lua's done() prints.
type wrkOut struct {
	OK, Bad, Requests int
	DurationUS        int64 `json:"duration_us"`
	P50US             int64 `json:"p50_us"`
	P99US             int64 `json:"p99_us"`
	SocketErrors      int   `json:"socket_errors"`
	Timeouts          int
	Why               map[string]int
}

func (d *wrkDriver) bodiesFile(w *workload) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.files[w]; ok {
		return f, nil
	}
	f := filepath.Join(d.dir, fmt.Sprintf("bodies-%d.txt", len(d.files)))
	var buf bytes.Buffer
	for _, b := range w.bodies {
		if bytes.ContainsAny(b, "\r\n") {
			return "", fmt.Errorf("%s: a body holds a line break", w.name)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(f, buf.Bytes(), 0o600); err != nil {
		return "", err
	}
	d.files[w] = f
	return f, nil
}

func (d *wrkDriver) run(ctx context.Context, cfg loadConfig, w *workload, du time.Duration) (result, error) {
	u, err := url.Parse(w.url)
	if err != nil {
		return result{}, err
	}
	var hdr strings.Builder
	for k, vs := range w.header {
		for _, v := range vs {
			fmt.Fprintf(&hdr, "%s: %s\n", k, v)
		}
	}
	env := append(baseEnv(),
		"BENCH_METHOD="+w.method, "BENCH_PATH="+u.RequestURI(), "BENCH_HEADERS="+hdr.String(), "BENCH_EXPECT="+w.expect)
	var poolOut string
	switch {
	case w.pool != nil:
		toks := w.pool.take()
		in := filepath.Join(d.dir, "pool-in.txt")
		poolOut = filepath.Join(d.dir, "pool-out.txt")
		if err := os.WriteFile(in, []byte(strings.Join(toks, "\n")+"\n"), 0o600); err != nil {
			w.pool.give(toks)
			return result{}, err
		}
		_ = os.Remove(poolOut)
		env = append(env, "BENCH_REFRESH=1", "BENCH_BODIES="+in, "BENCH_POOL_OUT="+poolOut)
	case w.bodies != nil:
		f, err := d.bodiesFile(w)
		if err != nil {
			return result{}, err
		}
		env = append(env, "BENCH_BODIES="+f)
	default:
		if bytes.ContainsAny(w.body, "\x00") {
			return result{}, fmt.Errorf("%s: a body with a NUL byte cannot pass through the environment", w.name)
		}
		env = append(env, "BENCH_BODY="+string(w.body))
	}
	secs := max(1, int((du+time.Second-1)/time.Second))
	cmd := exec.CommandContext(ctx, d.bin, "-t1", "-c"+strconv.Itoa(cfg.conns), "-d"+strconv.Itoa(secs)+"s",
		"--timeout", "10s", "-s", d.script, u.Scheme+"://"+u.Host)
	cmd.Env = env
	cmd.Dir = d.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	if w.pool != nil {
		left, err := os.ReadFile(poolOut)
		if err == nil {
			w.pool.give(strings.Fields(string(left)))
		}
	}
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	if runErr != nil {
		return result{}, fmt.Errorf("wrk %s: %v\n%s%s", w.name, runErr, truncate(out.String(), 2000), truncate(errb.String(), 2000))
	}
	var o wrkOut
	found := false
	for _, line := range strings.Split(out.String(), "\n") {
		if js, ok := strings.CutPrefix(line, "BENCH "); ok {
			if err := json.Unmarshal([]byte(js), &o); err != nil {
				return result{}, fmt.Errorf("wrk %s: bench.lua printed %q: %w", w.name, truncate(js, 200), err)
			}
			found = true
		}
	}
	if !found {
		return result{}, fmt.Errorf("wrk %s printed no BENCH line:\n%s%s", w.name, truncate(out.String(), 2000), truncate(errb.String(), 2000))
	}
	res := result{ok: o.OK, bad: o.Bad + o.SocketErrors + o.Timeouts, elapsed: time.Duration(o.DurationUS) * time.Microsecond,
		p50: time.Duration(o.P50US) * time.Microsecond, p99: time.Duration(o.P99US) * time.Microsecond, errs: o.Why}
	if res.errs == nil {
		res.errs = map[string]int{}
	}
	if n := o.SocketErrors + o.Timeouts; n > 0 {
		res.errs["socket errors or timeouts"] += n
	}
	return res, nil
}
