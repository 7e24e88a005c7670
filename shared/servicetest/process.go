package servicetest

import (
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a program a test started with Start.
type Process struct {
	// Out holds what the program wrote to stdout and stderr.
	Out *Buffer

	name  string
	cmd   *exec.Cmd
	grace time.Duration
	done  chan struct{}
	err   error // Wait's, once done is closed

	stopOnce sync.Once
	stopErr  error
}

// Start starts cmd, its stdout and stderr going to out (nil: a new
// Buffer, which a failed test logs under name; a caller that keeps its own
// buffer over restarts logs it itself), and stops it when the test ends:
// SIGTERM to its PID, then SIGKILL if it has not exited within grace. A
// program killed that way fails the test.
func Start(t testing.TB, name string, cmd *exec.Cmd, out *Buffer, grace time.Duration) *Process {
	t.Helper()
	logOut := out == nil
	if out == nil {
		out = &Buffer{}
	}
	p := &Process{Out: out, name: name, cmd: cmd, grace: grace, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
		if logOut && t.Failed() {
			t.Logf("--- %s output ---\n%s", name, out.String())
		}
	})
	return p
}

// Exited reports whether the program has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits for the program to exit, killing it after
// the grace period. It returns an error only when the program had to be
// killed; a program that had already ended is left alone. Later calls
// return the first call's result.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		if p.Exited() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(p.grace):
			_ = p.cmd.Process.Kill()
			<-p.done
			p.stopErr = fmt.Errorf("%s ignored SIGTERM for %s and was killed", p.name, p.grace)
		}
	})
	return p.stopErr
}

// Kill ends the program with SIGKILL at once (kill -9: no last write) and
// waits until it has ended.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// Err is the program's exit error (nil for a clean exit), once it has
// ended.
func (p *Process) Err() error {
	<-p.done
	return p.err
}
