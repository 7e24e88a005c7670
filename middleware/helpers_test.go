package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// clock is real time plus an offset the test moves forward.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type counters struct{ hit, miss, coalesced, errs, stale, evict atomic.Int64 }

func (c *counters) hooks() Hooks {
	return Hooks{
		OnHit:       func() { c.hit.Add(1) },
		OnMiss:      func() { c.miss.Add(1) },
		OnCoalesced: func() { c.coalesced.Add(1) },
		OnError:     func() { c.errs.Add(1) },
		OnStale:     func() { c.stale.Add(1) },
		OnEvict:     func() { c.evict.Add(1) },
	}
}

type rig struct {
	fake *introspecttest.Server
	v    *Verifier
	clk  *clock
	n    *counters
}

func newRig(t *testing.T, opts ...Option) *rig { return newRigTB(t, opts...) }

func newRigTB(t testing.TB, opts ...Option) *rig {
	t.Helper()
	fake := introspecttest.NewServer()
	t.Cleanup(fake.Close)
	n := &counters{}
	v, err := New(fake.URL, append([]Option{WithHooks(n.hooks())}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	clk := &clock{}
	v.now = clk.Now
	return &rig{fake: fake, v: v, clk: clk, n: n}
}

func active(scopes string, exp time.Time) wire.Introspection {
	return wire.Introspection{Scope: scopes, Exp: exp.Unix(), ClientID: "rs-id", Username: "user1@email.com", Sub: "42"}
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, ok := FromContext(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte("hello " + id.Username))
})

// do sends one request through h with the given Authorization header.
func do(h http.Handler, authz string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/items/", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bg() context.Context { return context.Background() }
