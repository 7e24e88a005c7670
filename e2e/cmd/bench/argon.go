package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// serveArgon runs `bench argon2`: the password grant's baseline, raw
// argon2id in a process of its own, with the server's parameters, on
// -workers goroutines for -for. It prints the rate and the mean time of
// one derivation.
func serveArgon(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("argon2", flag.ContinueOnError)
	m := fs.Uint("m", 19456, "memory in KiB")
	t := fs.Uint("t", 2, "passes")
	p := fs.Uint("p", 1, "lanes")
	keyLen := fs.Uint("key", 32, "key length")
	saltLen := fs.Int("salt", 16, "salt length")
	du := fs.Duration("for", 3*time.Second, "how long to derive")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines deriving at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	salt := make([]byte, *saltLen)
	pw := []byte("correct horse battery staple")
	derive := func() { _ = argon2.IDKey(pw, salt, uint32(*t), uint32(*m), uint8(*p), uint32(*keyLen)) }
	derive() // warm the allocator
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(*du)
	for range max(*workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				derive()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Printf("rate %.3f per_op_ns %d\n", float64(n.Load())/el.Seconds(), int64(el)*int64(max(*workers, 1))/max(n.Load(), 1))
	return ctx.Err()
}

// argonRun is one `bench argon2` result.
type argonRun struct {
	rate  float64       // derivations per second
	perOp time.Duration // wall time of one derivation on one goroutine
}

// measureArgon runs `bench argon2` with the server's parameters.
func (b *bench) measureArgon(ctx context.Context, workers int, d time.Duration) (argonRun, error) {
	p := b.argon
	out, err := b.run(ctx, nil, b.self, "argon2",
		"-m", strconv.FormatUint(uint64(p.memKiB), 10), "-t", strconv.FormatUint(uint64(p.time), 10),
		"-p", strconv.Itoa(int(p.threads)), "-key", strconv.FormatUint(uint64(p.keyLen), 10),
		"-salt", strconv.Itoa(p.saltLen), "-for", d.String(), "-workers", strconv.Itoa(workers))
	if err != nil {
		return argonRun{}, err
	}
	var r argonRun
	var ns int64
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "rate %f per_op_ns %d", &r.rate, &ns); err != nil {
		return argonRun{}, fmt.Errorf("bench argon2 printed %q: %w", out, err)
	}
	r.perOp = time.Duration(ns)
	fmt.Fprintf(os.Stderr, "bench:   %-20s %.1f/s (%d goroutines; %s each)\n", "raw argon2id", r.rate, workers, ms(r.perOp))
	return r, nil
}
