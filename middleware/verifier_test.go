package middleware

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/scope"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

func TestCacheKeyIsSHA256(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("tok", active("read", time.Now().Add(time.Hour)))
	if _, err := rg.v.Verify(bg(), "tok"); err != nil {
		t.Fatal(err)
	}
	if _, ok := rg.v.pos.GetEntryQuietly(revocation.Hash("tok")); !ok {
		t.Fatal("entry not stored under SHA-256(token)")
	}
	if got := slices.Collect(rg.v.pos.Keys()); len(got) != 1 || got[0] != revocation.Hash("tok") {
		t.Fatalf("keys %x", got)
	}
}

func TestHashTokenIsRevocationHash(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 33, 255, 256, 257, 5000} {
		tok := strings.Repeat("x", n)
		if hashToken(tok) != revocation.Hash(tok) {
			t.Errorf("len %d: hashToken differs from revocation.Hash", n)
		}
	}
}

func TestVerifyIdentity(t *testing.T) {
	rg := newRig(t)
	rg.fake.RegisterRaw("tok", `{"active": true, "scope": "read write", "exp": 4102444800.5, "iat": 1700000000,
		"client_id": "rs-id", "username": "u@x", "sub": "7", "aud": ["a", "b"], "token_type": "Bearer", "extra": {"x": 1}}`)
	id, err := rg.v.Verify(bg(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{Subject: "7", Username: "u@x", ClientID: "rs-id", Scopes: scope.Set{"read", "write"},
		ExpiresAt: time.Unix(4102444800, 5e8).UTC(), IssuedAt: time.Unix(1700000000, 0).UTC(),
		Audience: []string{"a", "b"}, TokenType: "Bearer"}
	if !sameIdentity(id, want) {
		t.Fatalf("identity %+v\nwant %+v", id, want)
	}
}

func sameIdentity(a, b Identity) bool {
	return a.Subject == b.Subject && a.Username == b.Username && a.ClientID == b.ClientID &&
		a.Scopes.String() == b.Scopes.String() && a.ExpiresAt.Equal(b.ExpiresAt) && a.IssuedAt.Equal(b.IssuedAt) &&
		strings.Join(a.Audience, ",") == strings.Join(b.Audience, ",") && a.TokenType == b.TokenType
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name      string
		exp       time.Duration // from now
		skew      time.Duration
		advance   time.Duration // after the first, successful Verify
		firstOK   bool
		secondOK  bool
		wantCalls int
	}{
		{"fresh hit", time.Hour, 0, time.Minute, true, true, 1},
		{"max TTL reached: asks again", time.Hour, 0, 6 * time.Minute, true, true, 2},
		{"exp reached before max TTL: never past exp", 30 * time.Second, 0, 31 * time.Second, true, false, 2},
		{"already expired though active", -time.Second, 0, 0, false, false, 2},
		{"skew makes it expired", 10 * time.Second, 15 * time.Second, 0, false, false, 2},
		{"skew shortens the entry", 30 * time.Second, 10 * time.Second, 21 * time.Second, true, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, WithClockSkew(tc.skew), WithNegativeTTL(0))
			rg.fake.Register("tok", active("read", time.Now().Add(tc.exp)))
			_, err := rg.v.Verify(bg(), "tok")
			if (err == nil) != tc.firstOK {
				t.Fatalf("first Verify: %v", err)
			}
			if err != nil && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("first Verify: %v, want ErrInvalidToken", err)
			}
			rg.clk.Advance(tc.advance)
			_, err = rg.v.Verify(bg(), "tok")
			if (err == nil) != tc.secondOK {
				t.Fatalf("second Verify: %v", err)
			}
			if got := rg.fake.Calls(); got != tc.wantCalls {
				t.Errorf("calls %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestNegativeCache(t *testing.T) {
	rg := newRig(t)
	for range 100 {
		if _, err := rg.v.Verify(bg(), "bad"); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err %v", err)
		}
	}
	if c := rg.fake.Calls(); c != 1 {
		t.Fatalf("100 tries of one bad token: %d calls, want 1", c)
	}
	rg.fake.Register("bad", active("read", time.Now().Add(time.Hour)))
	rg.clk.Advance(11 * time.Second)
	if _, err := rg.v.Verify(bg(), "bad"); err != nil {
		t.Fatalf("after negative TTL: %v", err)
	}
	if c := rg.fake.Calls(); c != 2 {
		t.Fatalf("calls %d, want 2", c)
	}
}

func TestCoalescing(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("new", active("read", time.Now().Add(time.Hour)))
	rg.fake.SetDelay(100 * time.Millisecond)
	const n = 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			<-start
			_, err := rg.v.Verify(bg(), "new")
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := rg.fake.Calls(); c != 1 {
		t.Fatalf("%d goroutines, one new token: %d calls, want 1", n, c)
	}
	if m, c, h := rg.n.miss.Load(), rg.n.coalesced.Load(), rg.n.hit.Load(); m != 1 || m+c+h != n {
		t.Errorf("miss %d coalesced %d hit %d", m, c, h)
	}
}

// doneSpy is a context that reports the first call of its Done method.
type doneSpy struct {
	context.Context
	once  sync.Once
	asked chan struct{}
}

func (d *doneSpy) Done() <-chan struct{} {
	d.once.Do(func() { close(d.asked) })
	return d.Context.Done()
}

func TestCancelledLeaderDoesNotFailOthers(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("tok", active("read", time.Now().Add(time.Hour)))
	rg.fake.SetDelay(300 * time.Millisecond)
	ctx, cancel := context.WithCancel(bg())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := rg.v.Verify(ctx, "tok")
		leaderErr <- err
	}()
	servicetest.Eventually(t, 5*time.Second, "the leader's call is at the server", func() bool { return rg.fake.Calls() > 0 })
	follower := make(chan error, 1)
	waiting := &doneSpy{Context: bg(), asked: make(chan struct{})}
	go func() {
		_, err := rg.v.Verify(waiting, "tok")
		follower <- err
	}()
	// A miss asks for its context's Done only once it waits on the shared
	// call: then the follower has joined the leader's flight.
	select {
	case <-waiting.asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the follower never waited on the leader's call")
	}
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("leader: %v, want Canceled and ErrUnavailable", err)
	}
	if err := <-follower; err != nil {
		t.Errorf("follower: %v", err)
	}
	if c := rg.fake.Calls(); c != 1 {
		t.Errorf("calls %d, want 1", c)
	}
	if _, err := rg.v.Verify(bg(), "tok"); err != nil || rg.fake.Calls() != 1 {
		t.Errorf("answer of the cancelled leader's call was not cached: %v, calls %d", err, rg.fake.Calls())
	}
}

func TestScopesCheckedOnHits(t *testing.T) {
	rg := newRig(t, WithRequiredScopes("write"))
	rg.fake.Register("tok", active("read", time.Now().Add(time.Hour)))
	for i := range 3 {
		id, err := rg.v.Verify(bg(), "tok")
		var se *ScopeError
		if !errors.Is(err, ErrInsufficientScope) || !errors.As(err, &se) || se.Missing.String() != "write" {
			t.Fatalf("try %d: %v", i, err)
		}
		if id.ClientID != "rs-id" {
			t.Errorf("identity not returned with the scope error")
		}
	}
	if rg.fake.Calls() != 1 || rg.n.hit.Load() != 2 {
		t.Errorf("calls %d hits %d", rg.fake.Calls(), rg.n.hit.Load())
	}
}

func TestAudience(t *testing.T) {
	exp := time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"string match", `{"active": true, "exp": ` + itoa(exp) + `, "aud": "api"}`, true},
		{"array match", `{"active": true, "exp": ` + itoa(exp) + `, "aud": ["web", "api"]}`, true},
		{"string mismatch", `{"active": true, "exp": ` + itoa(exp) + `, "aud": "web"}`, false},
		{"array mismatch", `{"active": true, "exp": ` + itoa(exp) + `, "aud": ["web"]}`, false},
		{"absent", `{"active": true, "exp": ` + itoa(exp) + `}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, WithAudience("api"))
			rg.fake.RegisterRaw("tok", tc.body)
			for range 2 {
				_, err := rg.v.Verify(bg(), "tok")
				if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidToken)) {
					t.Fatalf("Verify: %v", err)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestTooManyRequestsBacksOff(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("a", active("read", time.Now().Add(time.Hour)))
	rg.fake.Register("b", active("read", time.Now().Add(time.Hour)))
	rg.fake.Fail(http.StatusTooManyRequests, "7")
	h := rg.v.Handler(okHandler)
	w := do(h, "Bearer a")
	if w.Code != 503 || w.Header().Get("Retry-After") != "7" {
		t.Fatalf("status %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	rg.fake.Fail(0, "")
	rg.clk.Advance(2 * time.Second)
	w = do(h, "Bearer b")
	if w.Code != 503 || w.Header().Get("Retry-After") != "5" {
		t.Fatalf("during back-off: status %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if c := rg.fake.Calls(); c != 1 {
		t.Fatalf("called the auth server during back-off: %d calls", c)
	}
	rg.clk.Advance(6 * time.Second)
	if w = do(h, "Bearer b"); w.Code != 200 {
		t.Fatalf("after back-off: status %d", w.Code)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", time.Second}, {"3", 3 * time.Second}, {"0", time.Second}, {"-5", time.Second},
		{"999999", time.Minute}, {"soon", time.Second},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := parseRetryAfter(tc.in, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStaleIfError(t *testing.T) {
	tests := []struct {
		name    string
		stale   time.Duration
		exp     time.Duration
		advance time.Duration
		ok      bool
	}{
		{"off: fail closed", 0, time.Hour, 6 * time.Minute, false},
		{"on: stale served", 10 * time.Minute, time.Hour, 6 * time.Minute, true},
		{"on: stale window over", 10 * time.Minute, time.Hour, 16 * time.Minute, false},
		{"on: never past exp", 10 * time.Minute, 7 * time.Minute, 8 * time.Minute, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, WithStaleIfError(tc.stale))
			rg.fake.Register("tok", active("read", time.Now().Add(tc.exp)))
			if _, err := rg.v.Verify(bg(), "tok"); err != nil {
				t.Fatal(err)
			}
			rg.fake.Fail(500, "")
			rg.clk.Advance(tc.advance)
			_, err := rg.v.Verify(bg(), "tok")
			if tc.ok != (err == nil) {
				t.Fatalf("Verify: %v", err)
			}
			if tc.ok && rg.n.stale.Load() != 1 {
				t.Errorf("OnStale %d", rg.n.stale.Load())
			}
			if !tc.ok && !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrInvalidToken) {
				t.Errorf("err %v", err)
			}
		})
	}
}

func TestEviction(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name    string
		evict   func(v *Verifier)
		evicted []string // of a (sub 1, client c1), b (sub 2, client c1), c (sub 2, client c2)
	}{
		{"token hash", func(v *Verifier) { v.EvictTokenHash(revocation.HashString("a")) }, []string{"a"}},
		{"bad hash purges", func(v *Verifier) { v.EvictTokenHash("zz") }, []string{"a", "b", "c"}},
		{"subject", func(v *Verifier) { v.EvictSubject("2") }, []string{"b", "c"}},
		{"empty subject purges", func(v *Verifier) { v.EvictSubject("") }, []string{"a", "b", "c"}},
		{"client", func(v *Verifier) { v.EvictClient("c1") }, []string{"a", "b"}},
		{"purge", func(v *Verifier) { v.Purge() }, []string{"a", "b", "c"}},
		{"apply tokens", func(v *Verifier) {
			v.Apply(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashString("b"), revocation.HashString("c")}})
		}, []string{"b", "c"}},
		{"apply subject", func(v *Verifier) { v.Apply(revocation.Event{Kind: revocation.KindSubject, Subject: "1"}) }, []string{"a"}},
		{"apply client", func(v *Verifier) { v.Apply(revocation.Event{Kind: revocation.KindClient, ClientID: "c2"}) }, []string{"c"}},
		{"apply unknown kind purges", func(v *Verifier) { v.Apply(revocation.Event{Kind: "galaxy"}) }, []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t)
			rg.fake.Register("a", wire.Introspection{Scope: "read", Exp: exp.Unix(), Sub: "1", ClientID: "c1"})
			rg.fake.Register("b", wire.Introspection{Scope: "read", Exp: exp.Unix(), Sub: "2", ClientID: "c1"})
			rg.fake.Register("c", wire.Introspection{Scope: "read", Exp: exp.Unix(), Sub: "2", ClientID: "c2"})
			for _, tok := range []string{"a", "b", "c"} {
				if _, err := rg.v.Verify(bg(), tok); err != nil {
					t.Fatal(err)
				}
			}
			tc.evict(rg.v)
			for _, tok := range []string{"a", "b", "c"} {
				rg.fake.Revoke(tok) // a token still cached stays accepted
			}
			for _, tok := range []string{"a", "b", "c"} {
				_, err := rg.v.Verify(bg(), tok)
				wantEvicted := strings.Contains(strings.Join(tc.evicted, ","), tok)
				if wantEvicted != errors.Is(err, ErrInvalidToken) {
					t.Errorf("token %s: err %v, evicted want %v", tok, err, wantEvicted)
				}
			}
		})
	}
}

func TestEvictionDuringFlightIsNotUndone(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("tok", active("read", time.Now().Add(time.Hour)))
	rg.fake.SetDelay(200 * time.Millisecond)
	done := make(chan error, 1)
	go func() {
		_, err := rg.v.Verify(bg(), "tok")
		done <- err
	}()
	servicetest.Eventually(t, 5*time.Second, "the call is at the server", func() bool { return rg.fake.Calls() > 0 })
	rg.v.EvictTokenHash(revocation.HashString("tok"))
	// The revocation is known before the answer is used: it wins.
	if err := <-done; !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("in-flight Verify overtaken by a revocation: err = %v, want ErrInvalidToken", err)
	}
	if rg.v.Len() != 0 {
		t.Fatal("answer of a call overtaken by a revocation was cached")
	}
}

// TestSubjectEventRefusesTheTokensItNames: a subject (or client) event's
// hashes are refused like a tokens event's, while the subject's other
// tokens are only evicted and asked about again.
func TestSubjectEventRefusesTheTokensItNames(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("gone", active("read", time.Now().Add(time.Hour)))
	rg.fake.Register("kept", active("read", time.Now().Add(time.Hour)))
	for _, tok := range []string{"gone", "kept"} {
		if _, err := rg.v.Verify(bg(), tok); err != nil {
			t.Fatal(err)
		}
	}
	rg.v.Apply(revocation.Event{Kind: revocation.KindSubject, Subject: "42", TokenHashes: []string{revocation.HashString("gone")}})
	calls := rg.fake.Calls()
	if _, err := rg.v.Verify(bg(), "gone"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("named token: err = %v, want ErrInvalidToken", err)
	}
	if _, err := rg.v.Verify(bg(), "kept"); err != nil {
		t.Fatalf("the subject's other token: %v", err)
	}
	if got := rg.fake.Calls() - calls; got != 1 {
		t.Fatalf("%d introspection calls after the event, want 1 (for the token it did not name)", got)
	}
}

// TestEvictedTokenStaysRefused: an auth server that has not yet heard of a
// revocation may still call the token active; the middleware, which has,
// neither asks it again nor believes it within the negative TTL.
func TestEvictedTokenStaysRefused(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("tok", active("read", time.Now().Add(time.Hour)))
	if _, err := rg.v.Verify(bg(), "tok"); err != nil {
		t.Fatal(err)
	}
	rg.v.EvictTokenHash(revocation.HashString("tok"))
	calls := rg.fake.Calls()
	if _, err := rg.v.Verify(bg(), "tok"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify after eviction: err = %v, want ErrInvalidToken", err)
	}
	if rg.fake.Calls() != calls {
		t.Fatal("the middleware asked again about a token named in a revocation event")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []Option
	}{
		{"relative URL", "/o/introspect/", nil},
		{"ftp URL", "ftp://x/o/introspect/", nil},
		{"zero timeout", "http://x/", []Option{WithTimeout(0)}},
		{"zero cache", "http://x/", []Option{WithCacheSize(0)}},
		{"zero max TTL", "http://x/", []Option{WithMaxTTL(0)}},
		{"negative skew", "http://x/", []Option{WithClockSkew(-time.Second)}},
		{"both auths", "http://x/", []Option{WithClientCredentials("a", "b"), WithBearerToken("t")}},
		{"empty client id", "http://x/", []Option{WithClientCredentials("", "b")}},
		{"quote in realm", "http://x/", []Option{WithRealm(`a"b`)}},
		{"bad scope", "http://x/", []Option{WithRequiredScopes("a b")}},
		{"bad request ID header", "http://x/", []Option{WithRequestIDHeader("x id")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.url, tc.opts...); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	if _, err := New("https://auth.example/o/introspect/", WithRealm("items"), WithRequiredScopes("read")); err != nil {
		t.Fatalf("good config: %v", err)
	}
}

// TestNoGinNoRedis checks that a net/http user compiles neither.
func TestNoGinNoRedis(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := string(out)
	if !strings.Contains(deps, "golang.org/x/sync/singleflight") {
		t.Fatalf("go list output looks wrong:\n%s", deps)
	}
	for _, bad := range []string{"github.com/gin-gonic/gin", "github.com/redis/go-redis"} {
		if strings.Contains(deps, bad) {
			t.Errorf("package middleware depends on %s", bad)
		}
	}
}

// TestEventForAnUncachedTokenCostsALookup: most events (every other
// process's rotations) name tokens this process never saw. Such an event
// evicts nothing, adds nothing to the negative cache, and does not split
// the introspection calls in flight. Yet a request for that token within
// the negative TTL, answered "active" by an auth server that has not heard
// of the event yet, is refused all the same. A token that was cached is
// evicted and goes into the negative cache, as TestEvictedTokenStaysRefused
// checks.
func TestEventForAnUncachedTokenCostsALookup(t *testing.T) {
	rg := newRig(t)
	rg.fake.Register("seen", active("read", time.Now().Add(time.Hour)))
	rg.fake.Register("late", active("read", time.Now().Add(time.Hour))) // the auth server has not heard yet
	if _, err := rg.v.Verify(bg(), "seen"); err != nil {
		t.Fatal(err)
	}
	gen := rg.v.gen.Load()
	rg.v.Apply(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashString("late"), revocation.HashString("other")}})
	if n := rg.v.neg.Len(); n != 0 {
		t.Fatalf("negative cache holds %d entries after an event about uncached tokens, want 0", n)
	}
	if got := rg.n.evict.Load(); got != 0 {
		t.Fatalf("%d evictions counted for tokens that were not cached", got)
	}
	if rg.v.gen.Load() != gen {
		t.Fatal("an event about uncached tokens split the calls in flight")
	}
	if rg.v.Len() != 1 {
		t.Fatalf("cache holds %d answers, want the untouched 1", rg.v.Len())
	}
	if _, err := rg.v.Verify(bg(), "late"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a stale active answer for a token named in an event: err = %v, want ErrInvalidToken", err)
	}
	calls := rg.fake.Calls()
	if _, err := rg.v.Verify(bg(), "late"); !errors.Is(err, ErrInvalidToken) || rg.fake.Calls() != calls {
		t.Fatalf("second request: err = %v, %d more calls; want refused from the negative cache", err, rg.fake.Calls()-calls)
	}
	rg.clk.Advance(time.Minute) // past the negative TTL
	if _, err := rg.v.Verify(bg(), "late"); err != nil {
		t.Fatalf("past the negative TTL the auth server's answer counts again: %v", err)
	}

	rg.v.Apply(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashString("seen")}})
	if rg.n.evict.Load() != 1 {
		t.Fatalf("a cached token's event counted %d evictions, want 1", rg.n.evict.Load())
	}
	if _, ok := rg.v.neg.Peek(hashToken("seen")); !ok {
		t.Fatal("a cached token's event left it out of the negative cache")
	}
}

// TestRecentRevocationsIsDirectMapped: the fixed table keeps the newest
// token per slot and forgets nothing else.
func TestRecentRevocationsIsDirectMapped(t *testing.T) {
	var r recentRevocations
	a, b := revocation.Hash("a"), revocation.Hash("b")
	r.add(a, 10)
	if r.until(a) != 10 || r.until(b) != 0 {
		t.Fatalf("until(a) = %d, until(b) = %d", r.until(a), r.until(b))
	}
	clash := a
	clash[31] ^= 1 // same first 8 bytes: same slot
	r.add(clash, 20)
	if r.until(a) != 0 || r.until(clash) != 20 {
		t.Fatalf("after a clash: until(a) = %d, until(clash) = %d", r.until(a), r.until(clash))
	}
}

// TestScanDoesNotFlushHotTokens: tokens in steady use stay cached through
// a sweep of tokens each seen once, though each hot token comes back only
// after more distinct tokens than the cache holds (W-TinyLFU admission). A
// plain LRU evicts each hot token before it comes back: every request
// would be a call.
func TestScanDoesNotFlushHotTokens(t *testing.T) {
	const (
		size    = 100
		hotN    = 10
		between = 15 // swept tokens between two hot requests: reuse distance 150 > size
		rounds  = 20
	)
	rg := newRig(t, WithCacheSize(size))
	exp := time.Now().Add(time.Hour)
	verify := func(tok string) {
		t.Helper()
		if _, err := rg.v.Verify(bg(), tok); err != nil {
			t.Fatal(err)
		}
	}
	scanned := 0
	for r := range rounds {
		last := r == rounds-1
		var missed []string
		for i := range hotN {
			tok := "hot-" + strconv.Itoa(i)
			if r == 0 {
				rg.fake.Register(tok, active("read", exp))
			}
			before := rg.fake.CallsFor(tok)
			verify(tok)
			if rg.fake.CallsFor(tok) != before {
				missed = append(missed, tok)
			}
			for range between {
				sweep := "scan-" + strconv.Itoa(scanned)
				scanned++
				rg.fake.Register(sweep, active("read", exp))
				verify(sweep)
			}
		}
		if last && len(missed) != 0 {
			t.Fatalf("after %d swept tokens, hot tokens %v were no longer cached", scanned, missed)
		}
	}
}
