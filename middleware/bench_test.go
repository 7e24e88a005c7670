package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkVerifyHit is the cache-hit path of Verify.
func BenchmarkVerifyHit(b *testing.B) {
	rg := newBenchRig(b)
	ctx := bg()
	if _, err := rg.v.Verify(ctx, benchToken); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rg.v.Verify(ctx, benchToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler compares a protected request through Handler (warm
// cache) with the bare handler. Both run in-process on httptest.NewRecorder.
func BenchmarkHandler(b *testing.B) {
	rg := newBenchRig(b)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/items/", nil)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", bare},
		{"protected", rg.v.Handler(bare)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			bc.h.ServeHTTP(w, req)
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d", w.Code)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
			}
		})
	}
}

const benchToken = "pc_at_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8"

func newBenchRig(b *testing.B) *rig {
	rg := newRigTB(b)
	rg.fake.Register(benchToken, active("read write", time.Now().Add(time.Hour)))
	return rg
}
