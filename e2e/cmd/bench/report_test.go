package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadMicro: the go test -bench lines become rows, the GOMAXPROCS
// suffix goes, the event benchmark is judged against 2 µs, and the code
// exchange gets its difference row with signs.
func TestReadMicro(t *testing.T) {
	out := `goos: linux
pkg: github.com/portcullis-oauth/portcullis/middleware
BenchmarkRevocationEvent-2   	 1000000	      2500 ns/op	     272 B/op	       2 allocs/op
BenchmarkSign/RS256-2        	    1000	   1000000 ns/op
BenchmarkSign/ES256-2        	   30000	     40000 ns/op
BenchmarkCodeExchange/plain-2  	     300	   1500000 ns/op
BenchmarkCodeExchange/openid-RS256-2 	 300	   2600000 ns/op
BenchmarkCodeExchange/openid-ES256-2 	 300	   1450000 ns/op
PASS
ok  	github.com/portcullis-oauth/portcullis/middleware	3.1s
`
	f := filepath.Join(t.TempDir(), "micro.txt")
	if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &bench{microFile: f}
	if err := b.readMicro(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(b.micro) != 7 {
		t.Fatalf("%d rows, want 6 benchmarks and the difference: %+v", len(b.micro), b.micro)
	}
	ev := b.micro[0]
	if ev.figure != "BenchmarkRevocationEvent" || ev.measured != "**2.50 µs**" || ev.verdict != "**NOT met**" || ev.baseline != "272 B/op 2 allocs/op" {
		t.Fatalf("event row %+v", ev)
	}
	diff := b.micro[6]
	if diff.measured != "RS256: +1.10 ms; ES256: −50.00 µs" || !strings.Contains(diff.baseline, "RS256 1.00 ms, ES256 40.00 µs") {
		t.Fatalf("difference row %+v", diff)
	}
}

func TestSpreadAndMerge(t *testing.T) {
	all := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	if got := strings.Join(spread(all, 5), ""); got != "02468" {
		t.Fatalf("spread = %s", got)
	}
	if got := len(spread(all, 20)); got != 10 {
		t.Fatalf("spread of more than there are = %d", got)
	}
	if got := thousands(1000000); got != "1,000,000" {
		t.Fatalf("thousands = %s", got)
	}
	a := result{ok: 100, elapsed: time.Second, p50: time.Millisecond, p99: 5 * time.Millisecond, errs: map[string]int{"x": 1}, bad: 1}
	c := result{ok: 300, elapsed: time.Second, p50: 3 * time.Millisecond, p99: 4 * time.Millisecond, errs: map[string]int{"x": 2}, bad: 2}
	m := a.merge(c)
	if m.ok != 400 || m.bad != 3 || m.errs["x"] != 3 || m.rps() != 200 || m.p50 != 2500*time.Microsecond || m.p99 != 5*time.Millisecond {
		t.Fatalf("merged %+v", m)
	}
	// The slices of a run are merged into the zero result: the first is
	// itself.
	if z := (result{}).merge(a); z.ok != a.ok || z.bad != a.bad || z.elapsed != a.elapsed || z.p50 != a.p50 || z.p99 != a.p99 || z.errs["x"] != 1 {
		t.Fatalf("the zero result merged with %+v gave %+v", a, z)
	}
}
