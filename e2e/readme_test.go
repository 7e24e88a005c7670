package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// TestReadmeTryIt runs the README's "Try it" block exactly as written, with
// bash, against both services on the README's ports (8000 and 8001), and
// checks what each step answers.
func TestReadmeTryIt(t *testing.T) {
	for _, port := range []int{8000, 8001} {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			servicetest.Missing(t, fmt.Sprintf("port %d free for the README's examples (is `make run` going?)", port))
		}
		ln.Close()
	}
	_, self, _, _ := runtime.Caller(0)
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := shellBlockAfter(t, string(readme), "## Try it")

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"authserver", "resourceserver"} {
		if err := os.Symlink(binary(t, name), filepath.Join(dir, "bin", name)); err != nil {
			t.Fatal(err)
		}
	}
	// The same environment make run gives (deploy/run-local.sh), in a
	// scratch directory so that ./data is fresh.
	redisAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	authDB := "sqlite:" + filepath.Join(dir, "data", "authserver.db")
	start(t, "authserver", withPort(map[string]string{"DATABASE_URL": authDB, "EMBEDDED_REDIS_ADDR": redisAddr}, 8000))
	start(t, "resourceserver", withPort(map[string]string{
		"DATABASE_URL": "sqlite:" + filepath.Join(dir, "data", "resourceserver.db"), "REDIS_URL": "redis://" + redisAddr,
	}, 8001))

	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DATABASE_URL="+authDB)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README block failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		`client_id: rs-id`,
		`{"email":"user1@email.com"}`,
		`"price":"12.50"`,
		`"active":true`,
		`"username":"user1@email.com"`,
		`HTTP/1.1 401`,
	} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("README block output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(string(out), `"refresh_token"`) != 1 {
		t.Fatalf("the refresh step did not print one new token pair:\n%s", out)
	}
	if strings.Count(string(out), "{}") < 1 {
		t.Fatalf("password change did not answer {}:\n%s", out)
	}
}

// withPort fixes the port start would otherwise choose.
func withPort(env map[string]string, port int) map[string]string {
	env["PORT"] = strconv.Itoa(port)
	env[fixedPortKey] = "1"
	return env
}

// shellBlockAfter returns the first ```sh block after heading.
func shellBlockAfter(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, heading)
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	rest := doc[i:]
	j := strings.Index(rest, "```sh\n")
	if j < 0 {
		t.Fatal("no sh block")
	}
	rest = rest[j+len("```sh\n"):]
	k := strings.Index(rest, "```")
	if k < 0 {
		t.Fatal("unterminated sh block")
	}
	return rest[:k]
}
