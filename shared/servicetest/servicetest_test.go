package servicetest

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records how a helper ended the test.
type recorder struct {
	testing.TB
	skipped, failed string
	cleanups        []func()
}

// Cleanup keeps f for done.
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// done runs the cleanups, last first, as the testing package would.
func (r *recorder) done() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skipf(f string, a ...any)  { r.skipped = sprintf(f, a...) }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = sprintf(f, a...) }
func (r *recorder) Error(a ...any)            { r.failed = strings.TrimSpace(fmt.Sprint(a...)) }
func (r *recorder) Failed() bool              { return r.failed != "" }
func (r *recorder) Logf(string, ...any)       {}
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

// TestRaceCountsWhatOutrunsTheAct: attempts that start after the act
// returned and still succeed are counted as late, and every loop runs
// past the act.
func TestRaceCountsWhatOutrunsTheAct(t *testing.T) {
	var closed atomic.Bool
	var perLoop [4]atomic.Int64
	for _, leak := range []bool{false, true} {
		closed.Store(false)
		all, late := Race(t, 4, 8, func(i int) (int, bool, error) {
			perLoop[i].Add(1)
			return i, leak || !closed.Load(), nil
		}, func() { closed.Store(true) })
		if len(all) < 8 {
			t.Fatalf("%d successes, want the 8 before the act at least", len(all))
		}
		if leak && late < 4 || !leak && late != 0 {
			t.Fatalf("leak=%v: %d late successes", leak, late)
		}
	}
	for i := range perLoop {
		if perLoop[i].Load() == 0 {
			t.Fatalf("loop %d never ran", i)
		}
	}
}

// TestRaceFailsOnAnAttemptError: an attempt's error fails the test.
func TestRaceFailsOnAnAttemptError(t *testing.T) {
	r := &recorder{}
	var n atomic.Int64
	Race(r, 2, 1, func(int) (int, bool, error) {
		if n.Add(1) == 3 {
			return 0, false, errors.New("boom")
		}
		return 1, true, nil
	}, func() {})
	r.done()
	if !strings.Contains(r.failed, "boom") {
		t.Fatalf("failure %q, want the attempt's error", r.failed)
	}
}

// TestStartStopsByPID: a program that ends on SIGTERM stops cleanly; one
// that ignores it is killed after the grace period, and that fails the
// test; Kill ends one at once.
func TestStartStopsByPID(t *testing.T) {
	sh := RequireCommand(t, "sh", "a POSIX shell")
	r := &recorder{}
	polite := Start(r, "polite", exec.Command(sh, "-c", "echo up; exec sleep 60"), nil, 10*time.Second)
	stubborn := Start(r, "stubborn", exec.Command(sh, "-c", "trap '' TERM; echo up; while :; do sleep 0.05; done"), nil, 200*time.Millisecond)
	killed := Start(r, "killed", exec.Command(sh, "-c", "exec sleep 60"), nil, 10*time.Second)
	Eventually(t, 5*time.Second, "both shells to start", func() bool {
		return strings.Contains(polite.Out.String(), "up") && strings.Contains(stubborn.Out.String(), "up")
	})
	if err := polite.Stop(); err != nil || !polite.Exited() {
		t.Fatalf("polite: %v, exited %v", err, polite.Exited())
	}
	if err := stubborn.Stop(); err == nil || !strings.Contains(err.Error(), "ignored SIGTERM") {
		t.Fatalf("stubborn: %v", err)
	}
	killed.Kill()
	if !killed.Exited() || killed.Err() == nil {
		t.Fatalf("killed: exited %v, %v", killed.Exited(), killed.Err())
	}
	r.done()
	if !strings.Contains(r.failed, "stubborn ignored SIGTERM") {
		t.Fatalf("the test's failure %q, want the stubborn program's", r.failed)
	}
}

// TestRepeatCallsUntilStopped: Repeat calls f again and again until stop,
// and not after; f returning false ends it by itself; paced calls wait
// their interval.
func TestRepeatCallsUntilStopped(t *testing.T) {
	var n atomic.Int64
	stop := Repeat(t, 0, func() bool { n.Add(1); return true })
	Eventually(t, 5*time.Second, "f to run many times", func() bool { return n.Load() > 100 })
	stop()
	after := n.Load()
	stop() // a second call is harmless
	if n.Load() != after {
		t.Fatalf("f ran %d more times after stop returned", n.Load()-after)
	}

	var m atomic.Int64
	Repeat(t, 0, func() bool { return m.Add(1) < 3 })
	Eventually(t, 5*time.Second, "f to end the loop itself", func() bool { return m.Load() == 3 })

	var k atomic.Int64
	start := time.Now()
	stopPaced := Repeat(t, 20*time.Millisecond, func() bool { k.Add(1); return true })
	Eventually(t, 5*time.Second, "three paced calls", func() bool { return k.Load() >= 3 })
	stopPaced()
	if elapsed := time.Since(start); elapsed < 60*time.Millisecond {
		t.Fatalf("three calls 20 ms apart took %s", elapsed)
	}
}
