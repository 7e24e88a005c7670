package subscriber

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// backend is a Redis the contract runs against, with a way to cut the
// subscriber's connection.
type backend struct {
	rdb  redis.UniversalClient // for the subscriber
	pub  redis.UniversalClient // for publishing and admin
	kill func(t *testing.T)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func miniredisBackend(t *testing.T) backend {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return backend{rdb: rdb, pub: rdb, kill: func(t *testing.T) {
		m.Close()
		if err := m.Restart(); err != nil {
			t.Fatalf("miniredis restart: %v", err)
		}
	}}
}

func realBackend(t *testing.T) backend {
	u := servicetest.Require(t, "TEST_REDIS_URL")
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	name := "portcullis-mwtest-" + randomHex(6)
	subOpt := *opt
	subOpt.ClientName = name
	rdb := redis.NewClient(&subOpt)
	pub := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close(); _ = pub.Close() })
	if err := pub.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("real Redis at TEST_REDIS_URL: %v", err)
	}
	return backend{rdb: rdb, pub: pub, kill: func(t *testing.T) {
		// Kill only this test's connections, found by their name.
		list, err := pub.ClientList(context.Background()).Result()
		if err != nil {
			t.Fatal(err)
		}
		killed := 0
		sc := bufio.NewScanner(strings.NewReader(list))
		for sc.Scan() {
			var id string
			mine := false
			for _, f := range strings.Fields(sc.Text()) {
				if v, ok := strings.CutPrefix(f, "id="); ok {
					id = v
				}
				if f == "name="+name {
					mine = true
				}
			}
			if mine {
				if err := pub.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
					t.Fatal(err)
				}
				killed++
			}
		}
		if killed == 0 {
			t.Fatal("found no subscriber connection to kill")
		}
	}}
}

func TestSubscriberMiniredis(t *testing.T) { contract(t, miniredisBackend(t)) }
func TestSubscriberRealRedis(t *testing.T) { contract(t, realBackend(t)) }

// waitFor polls cond; the deadline only bounds a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	servicetest.Eventually(t, 10*time.Second, what, cond)
}

func contract(t *testing.T, b backend) {
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	exp := time.Now().Add(time.Hour).Unix()
	for _, tok := range []string{"a", "b", "c"} {
		fake.Register(tok, wire.Introspection{Scope: "read", Exp: exp, Sub: "sub-" + tok, ClientID: "cl"})
	}
	v, err := middleware.New(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	fill := func() {
		t.Helper()
		for _, tok := range []string{"a", "b", "c"} {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
		}
		if v.Len() != 3 {
			t.Fatalf("cache has %d entries, want 3", v.Len())
		}
	}
	channel := revocation.Channel("test-" + randomHex(8) + ":")
	var subscribed, dropped atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, b.rdb, channel, v, nil,
			WithBackoff(10*time.Millisecond, 100*time.Millisecond),
			WithOnSubscribed(func() { subscribed.Add(1) }),
			WithOnDropped(func(error) { dropped.Add(1) }))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "first subscription", func() bool { return subscribed.Load() == 1 })

	publish := func(payload []byte) {
		t.Helper()
		if err := b.pub.Publish(context.Background(), channel, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	event := func(e revocation.Event) []byte {
		p, err := revocation.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("token event evicts that token", func(t *testing.T) {
		fill()
		publish(event(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashHex("b")}}))
		waitFor(t, "eviction", func() bool { return v.Len() == 2 })
		fake.Revoke("b")
		if _, err := v.Verify(context.Background(), "b"); err == nil {
			t.Fatal("revoked token still accepted")
		}
		if _, err := v.Verify(context.Background(), "a"); err != nil {
			t.Fatalf("other token: %v", err)
		}
		fake.Register("b", wire.Introspection{Scope: "read", Exp: exp, Sub: "sub-b", ClientID: "cl"})
		v.Purge()
	})
	t.Run("subject event", func(t *testing.T) {
		fill()
		publish(event(revocation.Event{Kind: revocation.KindSubject, Subject: "sub-c"}))
		waitFor(t, "eviction", func() bool { return v.Len() == 2 })
	})
	t.Run("malformed payload purges", func(t *testing.T) {
		fill()
		publish([]byte("{not json"))
		waitFor(t, "purge", func() bool { return v.Len() == 0 })
	})
	t.Run("dropped connection purges and resubscribes", func(t *testing.T) {
		fill()
		before := subscribed.Load()
		b.kill(t)
		waitFor(t, "drop", func() bool { return dropped.Load() >= 1 })
		waitFor(t, "resubscription", func() bool { return subscribed.Load() > before })
		if v.Len() != 0 {
			t.Fatalf("cache not purged after the drop: %d entries", v.Len())
		}
		fill()
		publish(event(revocation.Event{Kind: revocation.KindClient, ClientID: "cl"}))
		waitFor(t, "eviction after resubscription", func() bool { return v.Len() == 0 })
	})
}

// countingCache records what Run does to it.
type countingCache struct{ purges, applies atomic.Int64 }

func (c *countingCache) Apply(revocation.Event) { c.applies.Add(1) }
func (c *countingCache) Purge()                 { c.purges.Add(1) }

func TestPurgesOnSubscribeAndReturnsOnCancel(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	c := &countingCache{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, rdb, "ch", c, nil, WithOnSubscribed(func() { ready <- struct{}{} })) }()
	<-ready
	if c.purges.Load() != 1 {
		t.Errorf("purges after subscribe: %d, want 1", c.purges.Load())
	}
	m.Publish("ch", `{"v":1,"kind":"tokens","token_hashes":[]}`)
	waitFor(t, "apply", func() bool { return c.applies.Load() == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	if err := Run(context.Background(), nil, "ch", &countingCache{}, nil, WithBackoff(time.Second, time.Millisecond)); err == nil {
		t.Fatal("accepted max < min back-off")
	}
}

// lockedLog is a log destination Run may write to while the test reads it.
type lockedLog = servicetest.Buffer

// TestStopIsNotAWarning: ending Run through its context is a deliberate
// stop, logged at info, never as a lost subscription.
func TestStopIsNotAWarning(t *testing.T) {
	b := miniredisBackend(t)
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	v, err := middleware.New(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedLog
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, b.rdb, "stop-test", v, logger) }()
	waitFor(t, "the subscription", func() bool { return strings.Contains(logs.String(), "revocation subscription ready") })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	out := logs.String()
	if strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
		t.Fatalf("a deliberate stop logged a warning or an error:\n%s", out)
	}
	if !strings.Contains(out, `level=INFO msg="revocation subscription stopped" channel=stop-test`) {
		t.Fatalf("the stop is not logged at info:\n%s", out)
	}
}
