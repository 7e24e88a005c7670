//go:build unix

package argon2

import (
	"runtime"
	"testing"
)

// TestMemoryIsOffTheHeap: on unix a Memory's blocks are mapped outside the
// Go heap, so 8 MiB of them leave the heap as it was; x/crypto's way (a
// slice of its own, nil Memory) puts them on it.
func TestMemoryIsOffTheHeap(t *testing.T) {
	const kib = 8192
	heap := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	mem := NewMemory(kib)
	if n := heap(func() { IDKey(mem, []byte("pw"), []byte("saltsalt"), 1, kib, 1, 32) }); n > 1<<20 {
		t.Errorf("a derivation in a Memory allocated %d bytes on the heap", n)
	}
	if mem.Bytes() != kib*1024 {
		t.Fatalf("the Memory keeps %d bytes", mem.Bytes())
	}
	if n := heap(func() { IDKey(nil, []byte("pw"), []byte("saltsalt"), 1, kib, 1, 32) }); n < kib*1024 {
		t.Errorf("a derivation in memory of its own allocated only %d bytes on the heap", n)
	}
	mem.Release()
}
