package deploy

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// TestMakeRun runs `make run` as a person does, on free ports and with its
// SQLite files in a temporary directory: it must say what it compiles,
// print one banner, prefix every log line with its service, serve the
// landing page at /, and, when make alone gets SIGINT (kill -INT on the
// make process), stop everything promptly and without a warning.
func TestMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: builds and runs both servers through make")
	}
	servicetest.RequireCommand(t, "make", "apt-get install -y make")
	servicetest.RequireCommand(t, "curl", "apt-get install -y curl")
	if _, err := os.Stat("/proc/self/status"); err != nil {
		servicetest.Missing(t, "Linux's /proc (make run watches make's signal mask there)")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	authPort, rsPort, redisPort := itoa(freePort(t)), itoa(freePort(t)), itoa(freePort(t))
	// env --default-signal: make must catch SIGINT as it does at a
	// terminal, even when this test was started with SIGINT ignored.
	cmd := exec.Command("env", "--default-signal=INT", "make", "--no-print-directory", "run")
	cmd.Dir = root
	cmd.Env = append(workspaceEnv(), "PORT="+authPort, "RS_PORT="+rsPort, "EMBEDDED_REDIS_ADDR=127.0.0.1:"+redisPort,
		"DATABASE_URL=sqlite:"+filepath.Join(dir, "auth.db"), "RS_DATABASE_URL=sqlite:"+filepath.Join(dir, "rs.db"),
		"ARGON2_MEMORY_KIB=8192",
		// Keep the embedded Redis's snapshot and the signing keys' KEK out
		// of the checkout's ./data, which belongs to the person's make run.
		"EMBEDDED_REDIS_SNAPSHOT="+filepath.Join(dir, "redis.snapshot"),
		"KEY_ENCRYPTION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // only if the test failed before the stop
		<-done
		if t.Failed() {
			t.Logf("make run printed:\n%s", out.String())
		}
	})

	servicetest.Eventually(t, 10*time.Minute, "make run prints its banner", func() bool {
		select {
		case <-done:
			t.Fatalf("make run exited early:\n%s", out.String())
		default:
		}
		return strings.Contains(out.String(), "Ctrl-C stops both.")
	})
	banner := out.String()
	for _, want := range []string{
		"make run: compiling bin/authserver", "make run: bin/resourceserver built",
		"http://localhost:" + authPort + "/", "bin/authserver createclient", "make reset",
		"auth     | ", "resource | ",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("make run's output lacks %q", want)
		}
	}
	if n := strings.Count(banner, "Portcullis is running"); n != 1 {
		t.Errorf("%d banners, want one", n)
	}
	for _, line := range strings.Split(strings.TrimSpace(banner), "\n") {
		if strings.Contains(line, "level=") && !strings.HasPrefix(line, "auth     | ") && !strings.HasPrefix(line, "resource | ") {
			t.Errorf("a log line without its service prefix: %q", line)
		}
	}
	resp, err := http.Get("http://127.0.0.1:" + authPort + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `href="/.well-known/oauth-authorization-server"`) {
		t.Errorf("GET /: %d, want the landing page:\n%s", resp.StatusCode, page)
	}

	// kill -INT on make alone: make waits for its recipe instead of passing
	// the signal on, so make run must notice by itself.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	servicetest.Eventually(t, 15*time.Second, "every process of make run ends after kill -INT on make", func() bool {
		return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
	})
	stop := out.String()
	i := strings.Index(stop, "make run: stopping")
	if i < 0 || !strings.Contains(stop[i:], "make run: stopped") {
		t.Fatalf("make run did not report a clean stop")
	}
	if s := stop[i:]; strings.Contains(s, "level=WARN") || strings.Contains(s, "level=ERROR") {
		t.Errorf("the stop logged a warning or an error:\n%s", s)
	}
	if !strings.Contains(stop[i:], `msg="revocation subscription stopped"`) {
		t.Errorf("the resource server's subscription did not report a deliberate stop:\n%s", stop[i:])
	}
}
