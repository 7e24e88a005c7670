package tokens

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

const redisServerBin = "/usr/bin/redis-server"

// startRedis starts a private redis-server on port and waits until it
// answers. The process is stopped (by its PID) when the test ends.
func startRedis(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(redisServerBin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() { stopRedis(cmd) })
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer c.Close()
	servicetest.Eventually(t, 5*time.Second, "the private redis-server answers", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
	return cmd
}

func stopRedis(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// privateRedis starts a redis-server of the test's own (skipped loudly when
// it is not installed, a failure under CI=true) and a client of it that
// fails fast and never retries. The server can be stopped with stopRedis
// and started again on port with startRedis.
func privateRedis(t *testing.T) (port int, cmd *exec.Cmd, rdb *redis.Client) {
	t.Helper()
	if _, err := os.Stat(redisServerBin); err != nil {
		servicetest.Missing(t, redisServerBin+" (apt-get install -y redis-server)")
	}
	port = freePort(t)
	cmd = startRedis(t, port)
	rdb = redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return port, cmd, rdb
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestRedisDown stops a private Redis under a Store, checks every call
// fails with ErrUnavailable, starts it again on the same port and checks
// the same client recovers (including reloading the lost Lua scripts).
func TestRedisDown(t *testing.T) {
	port, cmd, rdb := privateRedis(t)
	s := New(tokenClient(t, rdb), testenv.Prefix(), testLife)
	ctx := context.Background()
	iss, err := s.Issue(ctx, userGrant(1), true)
	if err != nil {
		t.Fatal(err)
	}

	stopRedis(cmd)
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Issue", func() error { _, err := s.Issue(ctx, userGrant(1), true); return err }},
		{"LookupAccess", func() error { _, err := s.LookupAccess(ctx, iss.AccessToken); return err }},
		{"LookupRefresh", func() error { _, err := s.LookupRefresh(ctx, iss.RefreshToken); return err }},
		{"Rotate", func() error { _, err := s.Rotate(ctx, iss.RefreshToken, "rs-id", ""); return err }},
		{"RevokeToken", func() error { _, err := s.RevokeToken(ctx, iss.AccessToken, "", "rs-id"); return err }},
		{"RevokeUser", func() error { return s.RevokeUser(ctx, 1, "", "x") }},
		{"RevokeClient", func() error { return s.RevokeClient(ctx, "rs-id", "x") }},
	}
	for _, tt := range calls {
		t.Run("down/"+tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}

	startRedis(t, port)
	// The old data is gone (no persistence); the same client works again.
	if _, err := s.LookupAccess(ctx, iss.AccessToken); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after restart: %v", err)
	}
	again, err := s.Issue(ctx, userGrant(1), true)
	if err != nil {
		t.Fatalf("Issue after restart (scripts must be reloaded): %v", err)
	}
	if _, err := s.Rotate(ctx, again.RefreshToken, "rs-id", ""); err != nil {
		t.Fatalf("Rotate after restart: %v", err)
	}
}
