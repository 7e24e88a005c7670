//go:build unix

package argon2

import (
	"runtime"
	"syscall"
)

// region is anonymous memory mapped outside the Go heap. It is unmapped by
// free, or by the garbage collector once nothing refers to it.
type region struct {
	b       []byte
	cleanup runtime.Cleanup
}

// mapRegion maps size bytes, or returns nil if the system refuses (the
// caller then allocates on the heap).
func mapRegion(size int) *region {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	r := &region{b: b}
	r.cleanup = runtime.AddCleanup(r, func(b []byte) { _ = syscall.Munmap(b) }, b)
	return r
}

func (r *region) free() {
	r.cleanup.Stop()
	_ = syscall.Munmap(r.b)
	r.b = nil
}
