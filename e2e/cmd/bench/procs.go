package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tail keeps the last max bytes a process wrote, for error reports.
type tail struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// child is one process the bench started. It is stopped by PID only.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	URL  string
	done chan struct{}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// baseEnv is the minimal environment handed to every child.
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

func envList(m map[string]string) []string {
	out := baseEnv()
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// startChild runs bin with args and env, and waits until GET /healthz on
// port answers 200. The child gets SIGTERM if the bench dies.
func startChild(ctx context.Context, name, bin string, args []string, env []string, port int, dir string) (*child, error) {
	c := &child{name: name, out: &tail{max: 64 << 10}, URL: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = env
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited early:\n%s", name, c.out.String())
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		default:
		}
		resp, err := hc.Get(c.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
	return nil, fmt.Errorf("%s did not become healthy in 30s:\n%s", name, c.out.String())
}

// stop sends SIGTERM to the child's PID and waits, killing it after 10 s.
func (c *child) stop() {
	if c == nil || c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// memKiB reads VmRSS and RssAnon (its anonymous part: heap, stacks,
// mappings of no file) of pid from /proc; 0 when unknown.
func memKiB(pid int) (rss, anon int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		case "RssAnon:":
			anon, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return rss, anon
}

// rssTracker remembers each watched process's idle RSS and its peak RSS
// while load runs.
type rssTracker struct {
	mu       sync.Mutex
	idle     map[string]int64
	peak     map[string]int64
	peakAnon map[string]int64 // peak RssAnon, the anonymous part
	order    []string
	// last is the peak RSS of the latest sampling, of lastName.
	last     int64
	lastName string
}

// lastPeak returns the peak RSS of the latest sampling and whose it was.
func (t *rssTracker) lastPeak() (int64, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last, t.lastName
}

// anonPeak is the peak RssAnon of the process called name.
func (t *rssTracker) anonPeak(name string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peakAnon[name]
}

func newRSSTracker() *rssTracker {
	return &rssTracker{idle: map[string]int64{}, peak: map[string]int64{}, peakAnon: map[string]int64{}}
}

func (t *rssTracker) markIdle(c *child) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.idle[c.name]; !ok {
		t.order = append(t.order, c.name)
	}
	t.idle[c.name], _ = memKiB(c.pid())
}

// sample records c's RSS every 100 ms until stop is closed.
// The peak of this sampling alone is kept for lastPeak.
func (t *rssTracker) sample(c *child, stop <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	t.mu.Lock()
	t.last, t.lastName = 0, c.name
	t.mu.Unlock()
	for {
		if v, anon := memKiB(c.pid()); v > 0 {
			t.mu.Lock()
			t.peak[c.name] = max(t.peak[c.name], v)
			t.peakAnon[c.name] = max(t.peakAnon[c.name], anon)
			t.last = max(t.last, v)
			t.mu.Unlock()
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
