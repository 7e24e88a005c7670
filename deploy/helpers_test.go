package deploy

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// repoRoot is the monorepo root: the directory holding go.work, one up from
// this module.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	root := filepath.Dir(filepath.Dir(file))
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("repository root %s has no go.work: %v", root, err)
	}
	return root
}

// inCI reports whether CI=true, where a missing service fails instead of
// skipping.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireEnv returns the variable's value, or skips loudly (fails under
// CI=true) when it is unset.
func requireEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if inCI() {
			t.Fatalf("%s is not set, and CI=true: a missing service is a failure", name)
		}
		t.Skipf("SKIPPED: %s is not set; this test needs the real service (.ci/run sets it)", name)
	}
	return v
}

// requireCommand returns the path of an installed program, or skips loudly
// (fails under CI=true).
func requireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if inCI() {
			t.Fatalf("%s is not installed, and CI=true: a missing tool is a failure", name)
		}
		t.Skipf("SKIPPED: %s is not installed; this test needs it", name)
	}
	return p
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func itoa(n int) string { return strconv.Itoa(n) }
