package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// terminal is the user's side of a pty: it records what the program
// writes, and types answers.
type terminal struct {
	t    *testing.T
	ptmx interface{ Write([]byte) (int, error) }
	tty  int // the program's side, to look at its echo flag

	mu   sync.Mutex
	out  bytes.Buffer
	seen int // how much of out expect has consumed
}

func (term *terminal) collect(r interface{ Read([]byte) (int, error) }) {
	buf := make([]byte, 1024)
	for {
		n, err := r.Read(buf)
		term.mu.Lock()
		term.out.Write(buf[:n])
		term.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor polls (a hang guard, not a timing assertion) until cond holds.
func (term *terminal) waitFor(what string, cond func() bool) {
	term.t.Helper()
	if !servicetest.Until(20*time.Second, cond) {
		term.t.Fatalf("timed out waiting for %s; terminal shows:\n%q", what, term.output())
	}
}

// expect waits for prompt to appear after what was already consumed.
func (term *terminal) expect(prompt string) {
	term.t.Helper()
	term.waitFor("prompt "+prompt, func() bool {
		term.mu.Lock()
		defer term.mu.Unlock()
		i := strings.Index(term.out.String()[term.seen:], prompt)
		if i < 0 {
			return false
		}
		term.seen += i + len(prompt)
		return true
	})
}

func (term *terminal) echoOff() bool {
	tio, err := unix.IoctlGetTermios(term.tty, unix.TCGETS)
	return err == nil && tio.Lflag&unix.ECHO == 0
}

// typeLine types s and Enter, as a person would.
func (term *terminal) typeLine(s string) {
	term.t.Helper()
	if _, err := term.ptmx.Write([]byte(s + "\r")); err != nil {
		term.t.Fatal(err)
	}
}

// typeSecret waits until the program has turned echo off, then types.
func (term *terminal) typeSecret(prompt, s string) {
	term.t.Helper()
	term.expect(prompt)
	term.waitFor("echo off at "+prompt, term.echoOff)
	term.typeLine(s)
}

func TestCreateSuperuserThroughAPty(t *testing.T) {
	url := testenv.SQLiteURL(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		servicetest.Missing(t, fmt.Sprintf("a pseudo-terminal (%v)", err))
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 200}); err != nil {
		t.Fatal(err)
	}

	term := &terminal{t: t, ptmx: ptmx, tty: int(tty.Fd())}
	go term.collect(ptmx)

	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(testenv.Context(t), []string{"createsuperuser"}, tty, tty, &stderr, envFor(url))
	}()

	term.expect("Email: ")
	term.typeLine("Root@Example.com")
	term.typeSecret("Password: ", "mismatch-One-11")
	term.typeSecret("Password (again): ", "mismatch-Two-22")
	term.typeSecret("Password: ", "password")
	term.typeSecret("Password (again): ", "password")
	term.typeSecret("Password: ", strongPW)
	term.typeSecret("Password (again): ", strongPW)
	term.expect("Superuser created successfully.")

	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("createsuperuser did not return; terminal:\n%q", term.output())
	}
	if term.echoOff() {
		t.Error("the terminal was left with echo off")
	}

	shown := term.output()
	if !strings.Contains(shown, "Root@Example.com") {
		t.Errorf("the email was not echoed:\n%q", shown)
	}
	for _, secret := range []string{strongPW, "mismatch-One-11", "mismatch-Two-22"} {
		if strings.Contains(shown, secret) || strings.Contains(stderr.String(), secret) {
			t.Errorf("password %q appeared on the terminal", secret)
		}
	}
	for _, want := range []string{"Your passwords didn't match.", "This password is too common."} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	checkSuperuser(t, url, "root@example.com", strongPW)
}
