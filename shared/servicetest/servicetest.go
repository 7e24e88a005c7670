// Package servicetest is the one copy, shared by every module's tests, of
// small helpers: requiring something from the environment (a variable such as
// TEST_REDIS_URL, an installed program), polling a condition until a
// deadline, and a buffer that goroutines write while a test reads it. It
// imports only the standard library.
//
// Something missing skips the test with a message that starts with
// "SKIPPED:" and names what the test needs, except under CI=true, where it
// fails the test instead: CI (.ci/run) provides every service, so a skip
// there would hide a test that did not run.
package servicetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// InCI reports whether CI=true is set.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing ends the test because something it needs is not here: a skip
// whose message starts with "SKIPPED:", or a failure under CI=true. need
// says what the test needs, e.g. "TEST_REDIS_URL (the real Redis; .ci/run
// sets it)".
func Missing(t testing.TB, need string) {
	t.Helper()
	if InCI() {
		t.Fatalf("needs %s, and CI=true: a missing service is a failure", need)
		return
	}
	t.Skipf("SKIPPED: needs %s", need)
}

// Require returns the value of the environment variable name, or ends the
// test through Missing when it is unset.
func Require(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, name+" (a real service; .ci/run sets it)")
	}
	return v
}

// RequireCommand returns the path of the installed program name, or ends
// the test through Missing. hint says how to install it.
func RequireCommand(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, fmt.Sprintf("the program %s (%s)", name, hint))
	}
	return p
}

// PollInterval is how often Eventually and Until check their condition.
const PollInterval = 10 * time.Millisecond

// Until calls cond every PollInterval until it returns true, and reports
// whether it did within timeout. cond is called at least once.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(PollInterval)
	}
}

// Eventually fails the test unless cond returns true within timeout; what
// names the condition in the failure.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("%s: not within %s", what, timeout)
	}
}

// Buffer collects output that several goroutines write (a server's log, a
// process's stdout and stderr) while a test reads it. The zero value is
// ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
