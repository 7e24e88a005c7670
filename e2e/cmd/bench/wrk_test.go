package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// TestWrkScript runs wrk/bench.lua under the real wrk against a local
// server: good answers count, wrong statuses and bodies do not, bodies go
// in turn, and the refresh pool sends each token once and takes back the
// new ones.
func TestWrkScript(t *testing.T) {
	bin := servicetest.RequireCommand(t, "wrk", "Debian: apt-get install wrk")
	var mu sync.Mutex
	seen := map[string]int{}   // refresh tokens presented
	bodies := map[string]int{} // pool bodies received
	next := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"ok"}`) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusInternalServerError) })
	mux.HandleFunc("/pool", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		bodies[r.PostForm.Get("n")]++
		mu.Unlock()
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		rt := r.PostForm.Get("refresh_token")
		mu.Lock()
		seen[rt]++
		next++
		n := next
		mu.Unlock()
		if r.PostForm.Get("grant_type") != "refresh_token" || r.Header.Get("Authorization") != "Basic abc" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"access_token":"a%d","refresh_token":"r%d"}`, n, n)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	d, err := newWrkDriver(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := loadConfig{conns: 4}
	run := func(w *workload) result {
		t.Helper()
		res, err := d.run(ctx, cfg, w, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if r := run(&workload{name: "ok", method: "GET", url: srv.URL + "/ok", expect: `"status":"ok"`}); r.ok == 0 || r.bad != 0 || r.elapsed < time.Second/2 {
		t.Fatalf("good answers: %+v", r)
	}
	if r := run(&workload{name: "body", method: "GET", url: srv.URL + "/ok", expect: `"active":true`}); r.ok != 0 || r.bad == 0 {
		t.Fatalf("a 2xx without the expected body counted: %+v", r)
	}
	if r := run(&workload{name: "fail", method: "GET", url: srv.URL + "/fail"}); r.ok != 0 || r.bad == 0 || !strings.HasPrefix(r.errSummary(), fmt.Sprint(r.bad)+"× 500") {
		t.Fatalf("500s: %+v (%s)", r, r.errSummary())
	}
	pool := &workload{name: "pool", method: "POST", url: srv.URL + "/pool", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		bodies: [][]byte{[]byte("n=1"), []byte("n=2"), []byte("n=3")}}
	if r := run(pool); r.ok == 0 || r.bad != 0 {
		t.Fatalf("pool: %+v", r)
	}
	mu.Lock()
	if len(bodies) != 3 || bodies["1"] == 0 || bodies["3"] == 0 {
		t.Fatalf("bodies sent: %v", bodies)
	}
	mu.Unlock()

	rp := &refreshPool{size: 12}
	for i := range 20 {
		rp.spare = append(rp.spare, fmt.Sprintf("seed%d", i))
	}
	refresh := &workload{name: "refresh", method: "POST", url: srv.URL + "/token",
		header: http.Header{"Authorization": {"Basic abc"}, "Content-Type": {"application/x-www-form-urlencoded"}}, pool: rp, expect: `"refresh_token"`}
	r := run(refresh)
	if r.ok == 0 || r.bad != 0 {
		t.Fatalf("refresh: %+v (%s)", r, r.errSummary())
	}
	mu.Lock()
	defer mu.Unlock()
	for tok, n := range seen {
		if n != 1 {
			t.Fatalf("refresh token %s sent %d times", tok, n)
		}
	}
	// What is left is the pool less what each connection had in flight,
	// or taken for a request it had not sent yet, when wrk stopped.
	t.Logf("pool: %d of %d left", len(rp.live), rp.size)
	if left := len(rp.live); left > rp.size || left < rp.size-2*cfg.conns {
		t.Fatalf("pool left with %d tokens, want %d less at most %d lost", left, rp.size, 2*cfg.conns)
	}
	for _, tok := range rp.live {
		if seen[tok] != 0 || !strings.HasPrefix(tok, "r") {
			t.Fatalf("pool holds %q, which is not a new, unused token", tok)
		}
	}
}
