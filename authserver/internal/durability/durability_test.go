package durability_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/durability"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// node adapts a go-redis client; error replies match ErrRefused.
type node struct{ c *redis.Client }

func (n node) Info(ctx context.Context, section string) (string, error) {
	s, err := n.c.Info(ctx, section).Result()
	return s, refused(err)
}

func (n node) ConfigGet(ctx context.Context, p string) (string, error) {
	m, err := n.c.ConfigGet(ctx, p).Result()
	return m[p], refused(err)
}

func refused(err error) error {
	var re redis.Error
	if errors.As(err, &re) && err != redis.Nil {
		return fmt.Errorf("%w: %w", durability.ErrRefused, err)
	}
	return err
}

func (n node) String() string { return n.c.Options().Addr }

// redisServer starts a redis-server the test owns, on a free port in a
// temporary directory, with args added to its command line; it is stopped
// by PID when the test ends.
func redisServer(t *testing.T, args ...string) *redis.Client {
	t.Helper()
	bin := servicetest.RequireCommand(t, "redis-server", "apt-get install -y redis-server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log")}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	t.Cleanup(func() { _ = c.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server did not answer:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func TestGuard(t *testing.T) {
	// A managed Redis that forbids CONFIG or INFO is played by renaming
	// the command away, as ElastiCache and others do.
	noConfig := []string{"--rename-command", "CONFIG", ""}
	noInfo := []string{"--rename-command", "INFO", ""}
	tests := []struct {
		name         string
		args         []string
		allow        bool
		wantEvicting bool
		wantWarnings []string // substrings, in order
	}{
		{"noeviction with AOF", []string{"--appendonly", "yes"}, false, false, nil},
		{"noeviction with RDB", []string{"--save", "3600 1"}, false, false, nil},
		{"no persistence", nil, false, false, []string{"no persistence"}},
		{"CONFIG refused, AOF off", noConfig, false, false, []string{"persistence could not be checked"}},
		{"CONFIG refused, AOF on", append([]string{"--appendonly", "yes"}, noConfig...), false, false, nil},
		{"INFO refused, RDB on", append([]string{"--save", "3600 1"}, noInfo...), false, false, []string{"maxmemory-policy could not be checked"}},
		{"INFO and CONFIG refused", append(noInfo, noConfig...), false, false, []string{"maxmemory-policy could not be checked", "persistence could not be checked"}},
		{"allkeys-lru", []string{"--maxmemory-policy", "allkeys-lru", "--appendonly", "yes"}, false, true, []string{"allkeys-lru evicts keys: the auth server refuses it"}},
		{"volatile-lru", []string{"--maxmemory-policy", "volatile-lru", "--appendonly", "yes"}, false, true, []string{"volatile-lru"}},
		{"volatile-ttl", []string{"--maxmemory-policy", "volatile-ttl", "--appendonly", "yes"}, false, true, []string{"volatile-ttl"}},
		{"allkeys-lru allowed", []string{"--maxmemory-policy", "allkeys-lru"}, true, false, []string{"allowed by REDIS_ALLOW_EVICTION", "no persistence"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := redisServer(t, tc.args...)
			n := node{c: c}
			g := durability.NewGuard(func() []durability.Node { return []durability.Node{n} }, tc.allow, "REDIS_ALLOW_EVICTION")
			reports, warnings, err := g.Check(context.Background())
			if errors.Is(err, durability.ErrEvicting) != tc.wantEvicting {
				t.Fatalf("err %v, want evicting %v", err, tc.wantEvicting)
			}
			if err != nil && !tc.wantEvicting {
				t.Fatalf("err %v", err)
			}
			if tc.wantEvicting {
				var ee *durability.EvictionError
				if !errors.As(err, &ee) || !strings.Contains(err.Error(), "maxmemory-policy "+ee.Policy) ||
					!strings.Contains(err.Error(), "REDIS_ALLOW_EVICTION=true") || ee.Node != n.String() {
					t.Fatalf("error does not name the setting, the node and the override: %v", err)
				}
			}
			if len(reports) != 1 {
				t.Fatalf("reports %v", reports)
			}
			if len(warnings) != len(tc.wantWarnings) {
				t.Fatalf("warnings %q, want %q", warnings, tc.wantWarnings)
			}
			for i, w := range tc.wantWarnings {
				if !strings.Contains(warnings[i], w) || strings.Contains(warnings[i], n.String()) {
					t.Fatalf("warning %q: want %q, and no address", warnings[i], w)
				}
			}
			if fmt.Sprint(g.Warnings()) != fmt.Sprint(warnings) {
				t.Fatalf("Warnings() = %q", g.Warnings())
			}
			if (g.Ping(context.Background()) != nil) != tc.wantEvicting {
				t.Fatalf("Ping disagrees with Check")
			}
		})
	}
}

// TestGuardFollowsConfigChanges: a policy set at run time is seen at the
// next check (readyz), and so is its repair.
func TestGuardFollowsConfigChanges(t *testing.T) {
	c := redisServer(t, "--appendonly", "yes")
	g := durability.NewGuard(func() []durability.Node { return []durability.Node{node{c: c}} }, false, "REDIS_ALLOW_EVICTION")
	ctx := context.Background()
	if err := g.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "maxmemory-policy", "allkeys-random").Err(); err != nil {
		t.Fatal(err)
	}
	if err := g.Ping(ctx); !errors.Is(err, durability.ErrEvicting) {
		t.Fatalf("after CONFIG SET allkeys-random: %v", err)
	}
	if err := c.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := g.Ping(ctx); err != nil || len(g.Warnings()) != 0 {
		t.Fatalf("after the repair: %v %q", err, g.Warnings())
	}
}

func TestGuardUnreachableAndEmpty(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	g := durability.NewGuard(func() []durability.Node { return []durability.Node{node{c: c}} }, false, "X")
	if err := g.Ping(context.Background()); err == nil || errors.Is(err, durability.ErrEvicting) {
		t.Fatalf("unreachable: %v", err)
	}
	g = durability.NewGuard(func() []durability.Node { return nil }, false, "X")
	if err := g.Ping(context.Background()); err == nil {
		t.Fatal("no nodes: nil error")
	}
}
