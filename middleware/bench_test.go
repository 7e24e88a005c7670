package middleware

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
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

func newBenchRig(b *testing.B, opts ...Option) *rig {
	rg := newRigTB(b, opts...)
	rg.fake.Register(benchToken, active("read write", time.Now().Add(time.Hour)))
	return rg
}

// BenchmarkRevocationEvent is a subscriber's whole per-event work, from the
// payload Redis delivers: decode, then apply. The event is a rotation's
// (two hashes) about tokens this process never cached, the common case: a
// full cache of other tokens must not make it dearer.
func BenchmarkRevocationEvent(b *testing.B) {
	rg := newBenchRig(b, WithCacheSize(10_000))
	now := time.Now()
	for i := range 10_000 {
		var k [32]byte
		binary.LittleEndian.PutUint64(k[:], uint64(i))
		rg.v.pos.Set(k, &entry{key: k, fresh: now.Add(time.Hour).UnixNano(), stale: now.Add(time.Hour).UnixNano()})
	}
	enc, err := revocation.Encode(revocation.Event{Kind: revocation.KindTokens, Reason: revocation.ReasonRotation, At: now.Unix(),
		TokenHashes: []string{revocation.HashString("pc_at_elsewhere"), revocation.HashString("pc_rt_elsewhere")}, Origin: "0123456789abcdef"})
	if err != nil {
		b.Fatal(err)
	}
	payload := string(enc) // a string, as the subscriber gets it from Redis
	b.ReportAllocs()
	for b.Loop() {
		e, err := revocation.DecodeString(payload)
		if err != nil {
			b.Fatal(err)
		}
		rg.v.Apply(e)
	}
	if rg.v.Len() != 10_000 || rg.v.neg.Len() != 0 {
		b.Fatalf("cache %d, negative %d after events about uncached tokens", rg.v.Len(), rg.v.neg.Len())
	}
}
