package deploy

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq" // the postgres driver, for the test schemas

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// stackMapping turns the compose network into this machine's: the postgres
// and redis services become TEST_DATABASE_URL (a fresh schema per database)
// and TEST_REDIS_URL, the services' ports become free loopback ports.
type stackMapping struct {
	schemas map[string]string // compose database name -> test schema
	baseDB  string
	redis   string
	prefix  string
	ports   map[string]int // service -> local port
}

func (m stackMapping) env(t *testing.T, service string, in map[string]string) []string {
	t.Helper()
	var out []string
	for k, v := range in {
		switch k {
		case "DATABASE_URL":
			cu, err := url.Parse(v)
			if err != nil || cu.Hostname() != "postgres" {
				t.Fatalf("%s: DATABASE_URL %q is not on the postgres service", service, v)
			}
			schema, ok := m.schemas[strings.TrimPrefix(cu.Path, "/")]
			if !ok {
				t.Fatalf("%s: DATABASE_URL names database %q, which the postgres service does not create", service, cu.Path)
			}
			u, _ := url.Parse(m.baseDB)
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			v = u.String()
		case "REDIS_URL":
			if ru, err := url.Parse(v); err != nil || ru.Hostname() != "redis" {
				t.Fatalf("%s: REDIS_URL %q is not on the redis service", service, v)
			}
			v = m.redis
		case "REDIS_PREFIX":
			v = m.prefix
		case "PORT":
			v = itoa(m.ports[service])
		default:
			// A URL of another compose service: http://authserver:8000/...
			if u, err := url.Parse(v); err == nil && u.Scheme == "http" {
				if port, ok := m.ports[u.Hostname()]; ok {
					u.Host = "127.0.0.1:" + itoa(port)
					v = u.String()
				}
			}
		}
		out = append(out, k+"="+v)
	}
	return out
}

func newSchema(t *testing.T, admin *sql.DB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("TEST_DATABASE_URL is set but CREATE SCHEMA failed: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestComposeStackRuns runs the real binaries, built as the Dockerfile
// builds them, with exactly the environment and commands docker-compose.yml
// gives each service: migrate, authserver, the seed, resourceserver; then it
// drives the tutorial's flow through them.
func TestComposeStackRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: builds and runs both servers")
	}
	baseDB := servicetest.Require(t, "TEST_DATABASE_URL")
	redisURL := servicetest.Require(t, "TEST_REDIS_URL")
	bins := buildImageBinaries(t)
	for _, b := range []string{"authserver", "resourceserver", "healthprobe"} {
		if bins[b] == "" {
			t.Fatalf("the Dockerfile's builders made no %s binary; the stack cannot run", b)
		}
	}
	superPW := "Seed-" + randHex(8)
	p := loadCompose(t, map[string]string{"SUPERUSER_PASSWORD": superPW, "SUPERUSER_EMAIL": "admin-" + randHex(4) + "@example.com"}, "seed")

	admin, err := sql.Open("postgres", baseDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() }) // runs after the schema drops below
	id := randHex(5)
	m := stackMapping{
		schemas: map[string]string{"authserver": "deploy_as_" + id, "resourceserver": "deploy_rs_" + id},
		baseDB:  baseDB, redis: redisURL, prefix: "deploytest:" + id + ":",
		ports: map[string]int{"authserver": freePort(t), "resourceserver": freePort(t)},
	}
	for _, s := range m.schemas {
		newSchema(t, admin, s)
	}
	// Registered before any process starts, so it runs after they stop.
	t.Cleanup(func() { deleteRedisPrefix(t, redisURL, m.prefix) })
	// Every process runs the image's binary for its service, in a fresh
	// working directory, with only the compose environment.
	binary := map[string]string{"migrate": bins["authserver"], "authserver": bins["authserver"],
		"seed-client": bins["authserver"], "seed-superuser": bins["authserver"], "resourceserver": bins["resourceserver"]}
	command := func(service string) *exec.Cmd {
		s := p.Services[service]
		cmd := exec.Command(binary[service], s.Command...)
		cmd.Env = m.env(t, service, serviceEnv(t, p, service))
		cmd.Dir = t.TempDir()
		return cmd
	}
	runOnce := func(service string) {
		t.Helper()
		out, err := command(service).CombinedOutput()
		if err != nil {
			t.Fatalf("compose service %s (%v) failed: %v\n%s", service, p.Services[service].Command, err, out)
		}
	}
	start := func(service string) {
		t.Helper()
		proc := servicetest.Start(t, service, command(service), nil, 20*time.Second)
		t.Cleanup(func() { // before Start's: a clean exit on SIGTERM is part of the contract
			if proc.Stop() == nil && proc.Err() != nil {
				t.Errorf("%s did not stop cleanly on SIGTERM: %v", service, proc.Err())
			}
		})
		waitHealthy(t, p.Services[service], bins["healthprobe"], command(service).Env, proc)
	}

	runOnce("migrate")
	start("authserver")
	runOnce("seed-client")
	runOnce("seed-superuser")
	start("resourceserver")

	as := "http://127.0.0.1:" + itoa(m.ports["authserver"])
	rs := "http://127.0.0.1:" + itoa(m.ports["resourceserver"])
	email, pw := "user-"+id+"@example.com", "Correct-Horse-"+id
	resp, err := http.PostForm(as+"/users/signup/", url.Values{"email": {email}, "password": {pw}, "password2": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %s", resp.Status)
	}
	rsEnv := serviceEnv(t, p, "resourceserver")
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}}
	req, _ := http.NewRequest(http.MethodPost, as+"/o/token/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rsEnv["INTROSPECTION_CLIENT_ID"], rsEnv["INTROSPECTION_CLIENT_SECRET"])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || tok.AccessToken == "" {
		t.Fatalf("password grant with the seeded client: %s, %v", resp.Status, err)
	}

	get := func(bearer string) int {
		req, _ := http.NewRequest(http.MethodGet, rs+"/items/", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(tok.AccessToken); code != http.StatusOK {
		t.Errorf("GET /items/ with the token: %d, want 200", code)
	}
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("GET /items/ without a token: %d, want 401", code)
	}
	if code := get("not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("GET /items/ with a made-up token: %d, want 401", code)
	}
}

// waitHealthy runs the service's compose healthcheck, with the image's
// probe binary in place of /usr/local/bin/healthprobe, until it passes.
func waitHealthy(t *testing.T, s types.ServiceConfig, probe string, env []string, proc *servicetest.Process) {
	t.Helper()
	test := s.HealthCheck.Test
	if len(test) < 2 || test[0] != "CMD" || test[1] != "/usr/local/bin/healthprobe" {
		t.Fatalf("%s: healthcheck %v is not the image's probe", s.Name, test)
	}
	var last []byte
	healthy := servicetest.Until(60*time.Second, func() bool {
		if proc.Exited() {
			t.Fatalf("%s exited before it was healthy: %v", s.Name, proc.Err())
		}
		cmd := exec.Command(probe, test[2:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		last = out
		return err == nil
	})
	if !healthy {
		t.Fatalf("%s: healthcheck %v never passed: %s", s.Name, test, last)
	}
}

// deleteRedisPrefix removes the keys the stack left under prefix in the
// shared Redis (tokens live for days).
func deleteRedisPrefix(t *testing.T, url, prefix string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Errorf("TEST_REDIS_URL: %v", err)
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Unlink(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("delete the keys under %s: %v", prefix, err)
	}
}
