package servicetest

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records how a helper ended the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skipf(f string, a ...any)  { r.skipped = sprintf(f, a...) }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = sprintf(f, a...) }
func sprintf(f string, a ...any) string       { return strings.TrimSpace(fmt.Sprintf(f, a...)) }

func TestRequire(t *testing.T) {
	t.Setenv("SERVICETEST_SET", "here")
	if got := Require(&recorder{TB: t}, "SERVICETEST_SET"); got != "here" {
		t.Fatalf("Require = %q, want here", got)
	}
	for _, tc := range []struct {
		name, ci                string
		wantSkipped, wantFailed bool
	}{
		{"outside CI a missing variable skips", "", true, false},
		{"under CI=true it fails", "true", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			Require(r, "SERVICETEST_UNSET_VARIABLE")
			if (r.skipped != "") != tc.wantSkipped || (r.failed != "") != tc.wantFailed {
				t.Fatalf("skipped %q, failed %q", r.skipped, r.failed)
			}
			msg := r.skipped + r.failed
			if !strings.Contains(msg, "SERVICETEST_UNSET_VARIABLE") {
				t.Fatalf("message %q does not name the variable", msg)
			}
			if tc.wantSkipped && !strings.HasPrefix(msg, "SKIPPED: needs ") {
				t.Fatalf("skip message %q does not start with SKIPPED: needs", msg)
			}
		})
	}
}

func TestRequireCommand(t *testing.T) {
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	RequireCommand(r, "servicetest-no-such-program", "apt-get install nothing")
	if !strings.Contains(r.skipped, "servicetest-no-such-program") || !strings.Contains(r.skipped, "apt-get install nothing") {
		t.Fatalf("skip message %q does not name the program and the hint", r.skipped)
	}
}

func TestUntil(t *testing.T) {
	var n atomic.Int32
	if !Until(time.Second, func() bool { return n.Add(1) == 3 }) {
		t.Fatal("Until gave up on a condition that became true")
	}
	if n.Load() != 3 {
		t.Fatalf("cond called %d times, want 3", n.Load())
	}
	start := time.Now()
	if Until(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("Until reported a condition that never held")
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("Until gave up before its deadline")
	}
}

func TestEventuallyFailsNamingTheCondition(t *testing.T) {
	r := &recorder{TB: t}
	Eventually(r, 20*time.Millisecond, "the cache is empty", func() bool { return false })
	if !strings.Contains(r.failed, "the cache is empty") {
		t.Fatalf("failure %q does not name the condition", r.failed)
	}
}
