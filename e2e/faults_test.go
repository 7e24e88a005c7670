package e2e

import (
	"context"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// redisServer is a redis-server this test owns, on its own port, so that it
// can be stopped and started again without touching anyone else's.
type redisServer struct {
	port int
	dir  string
	args []string // added to the command line, after the defaults
	run  *servicetest.Process
}

// startRedis starts a redis-server without persistence, unless args (such
// as "--appendonly", "yes") say otherwise, in a temporary directory that a
// restart keeps.
func startRedis(t testing.TB, args ...string) *redisServer {
	t.Helper()
	bin := servicetest.RequireCommand(t, "redis-server", "apt-get install -y redis-server")
	rs := &redisServer{port: freePort(t), dir: t.TempDir(), args: args}
	rs.launch(t, bin)
	t.Cleanup(func() { rs.stop() })
	return rs
}

func (rs *redisServer) launch(t testing.TB, bin string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(rs.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", rs.dir}, rs.args...)...)
	rs.run = servicetest.Start(t, "redis-server", cmd, nil, 10*time.Second)
	rdb := redis.NewClient(&redis.Options{Addr: rs.addr()})
	defer rdb.Close()
	servicetest.Eventually(t, 5*time.Second, "own redis-server answers", func() bool {
		return rdb.Ping(context.Background()).Err() == nil
	})
}

func (rs *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(rs.port) }

// stop kills the server with SIGKILL, by PID: kill -9, no last write.
func (rs *redisServer) stop() {
	if rs.run != nil {
		rs.run.Kill()
	}
}

// TestRedisDownAndBack stops the auth server's Redis: token, introspection
// and revocation requests get 503 with an RFC 6749 body, and service resumes
// with no restart when Redis is back.
func TestRedisDownAndBack(t *testing.T) {
	rsrv := startRedis(t)
	b := backend{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "a.db"), RedisURL: "redis://" + rsrv.addr() + "/0"}
	auth := startAuth(t, b, nil)
	c := newClient(t, auth.URL)
	signup(t, c, "down@example.com", "correct horse battery")
	rs := basicAuth("rs-id", "rs-secret")
	tokenForm := url.Values{"grant_type": {"password"}, "username": {"down@example.com"}, "password": {"correct horse battery"}}
	r := c.do("POST", "/o/token/", tokenForm, "Authorization", rs)
	expectStatus(t, r, 200)
	at := r.JSON(t)["access_token"].(string)

	rsrv.stop()
	for name, do := range map[string]func() response{
		"token":      func() response { return c.do("POST", "/o/token/", tokenForm, "Authorization", rs) },
		"introspect": func() response { return c.do("POST", "/o/introspect/", url.Values{"token": {at}}, "Authorization", rs) },
		"revoke": func() response {
			return c.do("POST", "/o/revoke_token/", url.Values{"token": {at}}, "Authorization", rs)
		},
	} {
		r := do()
		if r.Status != 503 {
			t.Fatalf("%s with Redis down: status %d, body %s", name, r.Status, r.Body)
		}
		if e := r.JSON(t)["error"]; e != "temporarily_unavailable" {
			t.Fatalf("%s: error = %v", name, e)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: no Retry-After", name)
		}
	}
	if r := c.do("GET", "/readyz", nil); r.Status != 503 {
		t.Fatalf("readyz with Redis down = %d", r.Status)
	}

	bin, _ := exec.LookPath("redis-server")
	rsrv.launch(t, bin)
	// Tokens lived in the Redis that was lost, so the old one is inactive;
	// a new login must work again without restarting the auth server.
	servicetest.Eventually(t, 15*time.Second, "a login works again after Redis is back", func() bool {
		r = c.do("POST", "/o/token/", tokenForm, "Authorization", rs)
		return r.Status == 200
	})
	at2 := r.JSON(t)["access_token"].(string)
	r = c.do("POST", "/o/introspect/", url.Values{"token": {at2}}, "Authorization", rs)
	if r.JSON(t)["active"] != true {
		t.Fatalf("introspection after recovery = %s", r.Body)
	}
}

// TestLoginThrottle: past the limit, the answer is 429 with Retry-After,
// even for the right password; unknown email and wrong password look alike.
func TestLoginThrottle(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		auth := startAuth(t, b, map[string]string{"LOGIN_THROTTLE_LIMIT": "3", "LOGIN_THROTTLE_WINDOW": "1m"})
		c := newClient(t, auth.URL)
		signup(t, c, "victim@example.com", "correct horse battery")
		rs := basicAuth("rs-id", "rs-secret")
		form := func(user, pw string) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}
		}
		wrong := c.do("POST", "/o/token/", form("victim@example.com", "nope"), "Authorization", rs)
		unknown := c.do("POST", "/o/token/", form("nobody@example.com", "nope"), "Authorization", rs, "X-Forwarded-For", "10.9.9.9")
		if wrong.Status != 400 || unknown.Status != 400 || string(wrong.Body) != string(unknown.Body) {
			t.Fatalf("unknown user and wrong password differ: %d %s / %d %s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
		}
		if string(wrong.Body) != `{"error":"invalid_grant","error_description":"Invalid credentials given."}` {
			t.Fatalf("wrong password body = %s", wrong.Body)
		}
		// Third failure from this address (the unknown-email one counted too).
		expectStatus(t, c.do("POST", "/o/token/", form("victim@example.com", "nope"), "Authorization", rs), 400)
		r := c.do("POST", "/o/token/", form("victim@example.com", "correct horse battery"), "Authorization", rs)
		expectStatus(t, r, 429)
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
			t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
		if r.JSON(t)["error"] == nil {
			t.Fatalf("429 body is not an OAuth error: %s", r.Body)
		}
	})
}

// TestRevocationEventsAndLogs: a revoke publishes an event naming the
// token's hash on the shared channel, and no token, secret or password ever
// reaches the server's log.
func TestRevocationEventsAndLogs(t *testing.T) {
	b := realBackend(t)
	auth := startAuth(t, b, nil)
	opt, _ := redis.ParseURL(b.RedisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	sub := rdb.Subscribe(context.Background(), revocation.Channel(b.RedisPrefix))
	defer sub.Close()
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, auth.URL)
	signup(t, c, "events@example.com", "correct horse battery")
	rs := basicAuth("rs-id", "rs-secret")
	r := c.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"events@example.com"}, "password": {"correct horse battery"}}, "Authorization", rs)
	expectStatus(t, r, 200)
	at, rt := r.JSON(t)["access_token"].(string), r.JSON(t)["refresh_token"].(string)
	expectStatus(t, c.do("POST", "/o/revoke_token/", url.Values{"token": {at}}, "Authorization", rs), 200)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatalf("no revocation event: %v", err)
	}
	ev, err := revocation.Decode([]byte(msg.Payload))
	if err != nil || ev.Kind != revocation.KindTokens || len(ev.TokenHashes) == 0 || ev.TokenHashes[0] != revocation.HashString(at) {
		t.Fatalf("event = %+v, %v", ev, err)
	}
	if strings.Contains(msg.Payload, at) {
		t.Fatal("the event carries the raw token")
	}
	auth.stop(t) // the access line is written after the response: stop first
	logs := auth.out.String()
	for _, secret := range []string{at, rt, "rs-secret", "correct horse battery"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a credential reached the log: %q", secret[:6])
		}
	}
	if !strings.Contains(logs, `"path":"/o/revoke_token/"`) {
		t.Fatal("the log has no access lines: the scan above proves nothing")
	}
}

// TestParallelGuessesAreThrottled: 40 wrong passwords sent at once with a
// limit of 10 — at most 10 reach the password check; the rest get 429.
func TestParallelGuessesAreThrottled(t *testing.T) {
	auth := startAuth(t, embeddedBackend(t), map[string]string{"LOGIN_THROTTLE_LIMIT": "10"})
	c := newClient(t, auth.URL)
	signup(t, c, "target@example.com", "correct horse battery")
	rs := basicAuth("rs-id", "rs-secret")
	var wg sync.WaitGroup
	statuses := make([]int, 40)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := c.try("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"target@example.com"}, "password": {"guess"}}, "Authorization", rs)
			if err == nil {
				statuses[i] = r.Status
			}
		}(i)
	}
	wg.Wait()
	checked := 0
	for _, s := range statuses {
		switch s {
		case 400:
			checked++
		case 429:
		default:
			t.Fatalf("unexpected status %d in %v", s, statuses)
		}
	}
	if checked > 10 {
		t.Fatalf("%d parallel guesses reached the password check, limit 10", checked)
	}
}
