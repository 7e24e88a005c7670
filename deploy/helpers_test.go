package deploy

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
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

// workspaceEnv is this process's environment for a go command that builds
// from the repository root in workspace mode, as the Dockerfile and make
// run do. Under make test-modules (GOWORK=off, GOFLAGS=-mod=mod, which a
// workspace build refuses) those two are left out.
func workspaceEnv() []string {
	var env []string
	off := os.Getenv("GOWORK") == "off"
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); off && (k == "GOWORK" || k == "GOFLAGS") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
