package passwords

import (
	"context"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The argon2id benchmarks use DefaultParams; compare them with
// BenchmarkArgon2IDKey, the bare KDF, to see this package's overhead.

func BenchmarkHash(b *testing.B) {
	h := newHasher(b, DefaultParams())
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "testpass123"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyArgon2id(b *testing.B) {
	h := newHasher(b, DefaultParams())
	encoded, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(context.Background(), encoded, "testpass123"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	h := newHasher(b, DefaultParams())
	for b.Loop() {
		h.VerifyDummy(context.Background(), "testpass123")
	}
}

func BenchmarkArgon2IDKey(b *testing.B) {
	p := DefaultParams()
	salt := make([]byte, p.SaltLen)
	for b.Loop() {
		xargon2.IDKey([]byte("testpass123"), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	}
}

func BenchmarkVerifyPBKDF2(b *testing.B) {
	h := newHasher(b, DefaultParams())
	const encoded = "pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo="
	for b.Loop() {
		if ok, _, err := h.Verify(context.Background(), encoded, "testpass123"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkVerifyBcrypt(b *testing.B) {
	h := newHasher(b, DefaultParams())
	encoded, err := bcrypt.GenerateFromPassword([]byte("testpass123"), bcrypt.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(context.Background(), string(encoded), "testpass123"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkVerifyOverCap(b *testing.B) {
	h := newHasher(b, DefaultParams())
	encoded, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		b.Fatal(err)
	}
	long := string(make([]byte, MaxPasswordBytes+1))
	for b.Loop() {
		if ok, _, _ := h.Verify(context.Background(), encoded, long); ok {
			b.Fatal("over-cap password verified")
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	IsCommon("") // load the list outside the timed loop
	for b.Loop() {
		Validate("someuser123", "someuser@x.com")
	}
}
