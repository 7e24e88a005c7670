//go:build unix

package argon2

import (
	"bytes"
	"runtime"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
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

// TestUnreachableMemoryDuringDerivation: a Memory that nothing but the
// derivation refers to stays mapped until the derivation is done, with the
// collector running all the time (deriveKey's runtime.KeepAlive; without
// it the mapping's cleanup unmaps it under the lanes: SIGSEGV).
func TestUnreachableMemoryDuringDerivation(t *testing.T) {
	defer servicetest.Repeat(t, 0, func() bool { runtime.GC(); return true })()
	want := xargon2.IDKey([]byte("pw"), []byte("saltsalt"), 3, 2048, 2, 32)
	for i := range 50 {
		if got := IDKey(NewMemory(2048), []byte("pw"), []byte("saltsalt"), 3, 2048, 2, 32); !bytes.Equal(got, want) {
			t.Fatalf("derivation %d: %x, want %x", i, got, want)
		}
	}
}
