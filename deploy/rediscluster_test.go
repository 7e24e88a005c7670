package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// TestRedisClusterScript starts deploy/redis-cluster.sh on free ports, checks
// the cluster through go-redis's ClusterClient, stops it, and checks that
// every node process is gone.
func TestRedisClusterScript(t *testing.T) {
	servicetest.RequireCommand(t, "redis-server", "apt-get install -y redis-server")
	servicetest.RequireCommand(t, "redis-cli", "apt-get install -y redis-tools")
	script := filepath.Join(repoRoot(t), "deploy", "redis-cluster.sh")
	var ports []string
	for len(ports) < 3 {
		p := freePort(t)
		if p > 55535 { // the cluster bus uses port+10000
			continue
		}
		ports = append(ports, strconv.Itoa(p))
	}
	dir := filepath.Join(t.TempDir(), "cluster")
	env := append(os.Environ(), "REDIS_CLUSTER_PORTS="+strings.Join(ports, ","), "REDIS_CLUSTER_DIR="+dir)
	run := func(args ...string) (string, error) {
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("start")
	// Whatever happens next, stop what the script started.
	t.Cleanup(func() { _, _ = run("stop") })
	if err != nil {
		t.Fatalf("redis-cluster.sh start: %v\n%s", err, out)
	}
	want := "REDIS_CLUSTER_ADDRS=127.0.0.1:" + strings.Join(ports, ",127.0.0.1:")
	if !strings.Contains(out, want+"\n") {
		t.Fatalf("start printed %q, want a line %q", out, want)
	}
	var pids []int
	for _, p := range ports {
		b, err := os.ReadFile(filepath.Join(dir, p+".pid"))
		if err != nil {
			t.Fatalf("no PID file for node %s: %v", p, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("PID file of node %s: %q", p, b)
		}
		pids = append(pids, pid)
	}

	addrs := strings.Split(strings.TrimPrefix(want, "REDIS_CLUSTER_ADDRS="), ",")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer c.Close()
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_size:3") {
		t.Fatalf("cluster info: %v\n%s", err, info)
	}
	// Keys land on all three masters, and every one is readable back.
	masters := map[string]bool{}
	for i := range 30 {
		k := "deploytest:" + strconv.Itoa(i)
		if err := c.Set(ctx, k, i, time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		slot, err := c.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		masters[strconv.FormatInt(slot*3/16384, 10)] = true
		if v, err := c.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("GET %s: %v %v", k, v, err)
		}
	}
	if len(masters) != 3 {
		t.Errorf("30 keys used %d of 3 slot ranges", len(masters))
	}
	// A second start on the same dir refuses instead of clobbering.
	if out, err := run("start"); err == nil {
		t.Errorf("a second start succeeded: %s", out)
	}

	if out, err := run("stop"); err != nil || !strings.Contains(out, "stopped 3 node(s)") {
		t.Fatalf("redis-cluster.sh stop: %v\n%s", err, out)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("node PID %d still runs after stop", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("stop left its dir %s behind: %v", dir, err)
	}
}
