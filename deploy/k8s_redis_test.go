package deploy

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestRedisStatefulSet: the base ships a Redis that keeps the tokens: a
// StatefulSet with its data on a PersistentVolume, AOF on, noeviction,
// behind a headless Service that both services' REDIS_URL names.
func TestRedisStatefulSet(t *testing.T) {
	m := loadManifests(t)
	ss, ok := m.statefulSets["redis"]
	if !ok {
		t.Fatal("no StatefulSet redis")
	}
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1 (one writer; use Sentinel or a managed Redis for more)", ss.Spec.Replicas)
	}
	pod := ss.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !subset(ss.Spec.Selector.MatchLabels, ss.Spec.Template.Labels) || len(ss.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("selector %v does not match the pod labels", ss.Spec.Selector.MatchLabels)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.FSGroup == nil {
		t.Errorf("pod securityContext: want runAsNonRoot and an fsGroup for the volume")
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container securityContext: want readOnlyRootFilesystem and no privilege escalation")
	}
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Errorf("want readiness and liveness probes")
	}

	// The data volume is a claim template, mounted where redis.conf's dir is.
	var claim string
	for _, vct := range ss.Spec.VolumeClaimTemplates {
		if vct.Spec.Resources.Requests.Storage().IsZero() {
			t.Errorf("claim %s requests no storage", vct.Name)
		}
		claim = vct.Name
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	dataDir, ok := mounts[claim]
	if claim == "" || !ok {
		t.Fatalf("no volumeClaimTemplate mounted (claims %q, mounts %v)", claim, mounts)
	}

	// redis.conf comes from a ConfigMap, and is the first argument.
	var conf string
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		cm, ok := m.configMaps[v.ConfigMap.Name]
		if !ok {
			t.Fatalf("volume %s: ConfigMap %s does not exist", v.Name, v.ConfigMap.Name)
		}
		if len(c.Args) == 0 || c.Args[0] != path.Join(mounts[v.Name], "redis.conf") {
			t.Fatalf("args %q do not start with the mounted redis.conf", c.Args)
		}
		conf = cm.Data["redis.conf"]
	}
	d := directives(conf)
	for k, want := range map[string]string{"appendonly": "yes", "maxmemory-policy": "noeviction", "dir": dataDir} {
		if d[k] != want {
			t.Errorf("redis.conf: %s %q, want %q", k, d[k], want)
		}
	}
	if d["appendfsync"] != "everysec" && d["appendfsync"] != "always" {
		t.Errorf("redis.conf: appendfsync %q", d["appendfsync"])
	}
	maxmem, err := resource.ParseQuantity(strings.TrimSuffix(strings.ToUpper(d["maxmemory"]), "B"))
	if err != nil {
		t.Errorf("redis.conf: maxmemory %q: %v", d["maxmemory"], err)
	} else if limit := c.Resources.Limits.Memory(); limit.IsZero() || maxmem.Value() >= limit.Value() {
		t.Errorf("maxmemory %s must stay below the memory limit %v", d["maxmemory"], limit)
	}

	// A headless Service selects the pod on the container's port, and both
	// services' REDIS_URL points at it.
	svc, ok := m.services[ss.Spec.ServiceName]
	if !ok {
		t.Fatalf("no Service %q (the StatefulSet's serviceName)", ss.Spec.ServiceName)
	}
	if svc.Spec.ClusterIP != "None" || !subset(svc.Spec.Selector, ss.Spec.Template.Labels) || len(svc.Spec.Ports) != 1 ||
		svc.Spec.Ports[0].Port != 6379 || resolvePort(svc.Spec.Ports[0].TargetPort, map[string]int32{c.Ports[0].Name: c.Ports[0].ContainerPort}) != 6379 {
		t.Errorf("Service %s: want headless, selecting the pod, port 6379 to the container's 6379", svc.Name)
	}
	for _, name := range []string{"authserver-secrets", "resourceserver-secrets"} {
		u, err := url.Parse(m.secrets[name].StringData["REDIS_URL"])
		if err != nil || u.Hostname() != svc.Name || u.Port() != "6379" {
			t.Errorf("%s: REDIS_URL %q does not name the Service %s:6379", name, m.secrets[name].StringData["REDIS_URL"], svc.Name)
		}
	}
	// The password comes from a Secret that exists.
	for _, e := range c.Env {
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			if _, ok := m.secrets[ref.SecretKeyRef.Name].StringData[ref.SecretKeyRef.Key]; !ok {
				t.Errorf("env %s: Secret %s has no key %s", e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
			}
		}
	}
}

// TestRedisConfRuns starts a real redis-server on the shipped redis.conf
// (its dir moved to a temporary directory) and asks it what the auth
// server's guard asks: INFO must say noeviction and AOF on.
func TestRedisConfRuns(t *testing.T) {
	bin := servicetest.RequireCommand(t, "redis-server", "apt-get install -y redis-server")
	cli := servicetest.RequireCommand(t, "redis-cli", "apt-get install -y redis-tools")
	m := loadManifests(t)
	conf := m.configMaps["redis-config"].Data["redis.conf"]
	dir := t.TempDir()
	var lines []string
	for _, l := range strings.Split(conf, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "dir ") {
			l = "dir " + dir
		}
		lines = append(lines, l)
	}
	confPath := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	port := itoa(freePort(t))
	srv := exec.Command(bin, confPath, "--port", port, "--bind", "127.0.0.1", "--requirepass", "test-password")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	info := func(section string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, cli, "-p", port, "INFO", section)
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH=test-password")
		out, _ := cmd.Output()
		return string(out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(info("server"), "redis_version") {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start on the shipped redis.conf")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if mem := info("memory"); !strings.Contains(mem, "maxmemory_policy:noeviction") {
		t.Errorf("INFO memory:\n%s", mem)
	}
	if p := info("persistence"); !strings.Contains(p, "aof_enabled:1") {
		t.Errorf("INFO persistence:\n%s", p)
	}
}

// directives reads redis.conf's "name value" lines.
func directives(conf string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(conf, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, _ := strings.Cut(l, " ")
		out[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	return out
}
