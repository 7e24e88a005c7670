// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package argon2

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// The known answers and test vectors are x/crypto's (RFC 9106 section 5
// and the reference implementation's); each runs with memory of its own
// and again in a Memory that an unrelated derivation left dirty.

var (
	genKatPassword = bytes.Repeat([]byte{0x01}, 32)
	genKatSalt     = bytes.Repeat([]byte{0x02}, 16)
	genKatSecret   = bytes.Repeat([]byte{0x03}, 8)
	genKatAAD      = bytes.Repeat([]byte{0x04}, 12)
)

// dirty returns a Memory of n blocks that a derivation of other inputs
// has just used.
func dirty(n uint32) *Memory {
	m := NewMemory(n)
	IDKey(m, []byte("another password"), []byte("another salt"), 1, n, 1, 32)
	return m
}

func TestKnownAnswers(t *testing.T) {
	kats := []struct {
		name string
		mode int
		want string
	}{
		{"argon2d", argon2d, "512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb"},
		{"argon2i", argon2i, "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8"},
		{"argon2id", argon2id, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"},
	}
	defer func(sse4 bool) { useSSE4 = sse4 }(useSSE4)
	for _, sse4 := range []bool{true, false} {
		if sse4 && !useSSE4 {
			t.Log("no SSE4.1 on this machine: the generic kernel only")
			continue
		}
		useSSE4 = sse4
		for _, k := range kats {
			for _, mem := range []*Memory{nil, dirty(64)} {
				got := hex.EncodeToString(deriveKey(mem, k.mode, genKatPassword, genKatSalt, genKatSecret, genKatAAD, 3, 32, 4, 32))
				if got != k.want {
					t.Errorf("sse4=%v %s (reused memory %v): %s, want %s", sse4, k.name, mem != nil, got, k.want)
				}
			}
		}
	}
}

func TestVectors(t *testing.T) {
	password, salt := []byte("password"), []byte("somesalt")
	mem := dirty(1024)
	for i, v := range testVectors {
		want, err := hex.DecodeString(v.hash)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		for _, m := range []*Memory{nil, mem} {
			if got := deriveKey(m, v.mode, password, salt, nil, nil, v.time, v.memory, v.threads, uint32(len(want))); !bytes.Equal(got, want) {
				t.Errorf("vector %d (reused memory %v): %x, want %x", i, m != nil, got, want)
			}
		}
	}
}

// TestMatchesXCrypto runs random parameters through one Memory, which
// grows and is reused dirty, and compares every key with x/crypto's.
func TestMatchesXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	mem := NewMemory(1024)
	for i := range 200 {
		pw := make([]byte, r.IntN(40))
		salt := make([]byte, 8+r.IntN(24))
		for j := range pw {
			pw[j] = byte(r.Uint32())
		}
		for j := range salt {
			salt[j] = byte(r.Uint32())
		}
		time, memory, threads, keyLen := 1+r.Uint32N(3), 8+r.Uint32N(600), uint8(1+r.IntN(4)), 4+r.Uint32N(60)
		if got, want := IDKey(mem, pw, salt, time, memory, threads, keyLen), xargon2.IDKey(pw, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
			t.Fatalf("IDKey %d (t=%d m=%d p=%d len=%d): %x, want %x", i, time, memory, threads, keyLen, got, want)
		}
		if got, want := Key(mem, pw, salt, time, memory, threads, keyLen), xargon2.Key(pw, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
			t.Fatalf("Key %d (t=%d m=%d p=%d len=%d): %x, want %x", i, time, memory, threads, keyLen, got, want)
		}
	}
	if mem.Bytes() < 600*1024 {
		t.Errorf("the Memory holds %d bytes after derivations of up to 607 KiB", mem.Bytes())
	}
}

func TestMemoryKeepsItsBlocks(t *testing.T) {
	mem := NewMemory(64)
	IDKey(mem, []byte("pw"), []byte("saltsalt"), 1, 64, 1, 32)
	first := &mem.blocks[0]
	IDKey(mem, []byte("pw2"), []byte("saltsalt"), 1, 32, 1, 32) // smaller: the same blocks
	if &mem.blocks[0] != first || mem.Bytes() != 64*1024 {
		t.Fatalf("a smaller derivation replaced the memory (%d bytes)", mem.Bytes())
	}
	// A warm Memory allocates no blocks: a derivation's allocations are
	// x/crypto's small ones (blake2b, the key, the goroutine per lane).
	warm := testing.AllocsPerRun(5, func() { IDKey(mem, []byte("pw"), []byte("saltsalt"), 1, 64, 1, 32) })
	fresh := testing.AllocsPerRun(5, func() { IDKey(nil, []byte("pw"), []byte("saltsalt"), 1, 64, 1, 32) })
	if warm != fresh-1 {
		t.Errorf("a derivation made %.0f allocations in a warm Memory and %.0f in memory of its own; want one fewer", warm, fresh)
	}
	// Over the limit: memory of its own, and the kept blocks stay.
	if got, want := IDKey(mem, []byte("pw"), []byte("saltsalt"), 1, 128, 1, 32), xargon2.IDKey([]byte("pw"), []byte("saltsalt"), 1, 128, 1, 32); !bytes.Equal(got, want) {
		t.Fatalf("over the limit: %x, want %x", got, want)
	}
	if &mem.blocks[0] != first {
		t.Error("a derivation over the limit replaced the kept memory")
	}
	mem.Release()
	if mem.Bytes() != 0 {
		t.Errorf("after Release the Memory keeps %d bytes", mem.Bytes())
	}
}

// FuzzMatchesXCrypto: any inputs, in a reused Memory, give x/crypto's key.
func FuzzMatchesXCrypto(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(2), uint16(64), uint8(1))
	f.Add([]byte(""), []byte("12345678"), uint8(1), uint16(8), uint8(4))
	mem := NewMemory(1024)
	f.Fuzz(func(t *testing.T, pw, salt []byte, time uint8, memory uint16, threads uint8) {
		tm, m, p := 1+uint32(time%3), uint32(memory%1024), 1+threads%4
		if got, want := IDKey(mem, pw, salt, tm, m, p, 32), xargon2.IDKey(pw, salt, tm, m, p, 32); !bytes.Equal(got, want) {
			t.Fatalf("t=%d m=%d p=%d: %x, want %x", tm, m, p, got, want)
		}
	})
}

// BenchmarkIDKey: the server's default parameters, x/crypto against a
// reused Memory.
func BenchmarkIDKey(b *testing.B) {
	pw, salt := []byte("password"), []byte("choosing random salts is hard")
	b.Run("x-crypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			xargon2.IDKey(pw, salt, 2, 19456, 1, 32)
		}
	})
	b.Run("reused", func(b *testing.B) {
		mem := NewMemory(19456)
		b.ReportAllocs()
		for b.Loop() {
			IDKey(mem, pw, salt, 2, 19456, 1, 32)
		}
	})
}

var testVectors = []struct {
	mode         int
	time, memory uint32
	threads      uint8
	hash         string
}{
	{
		mode: argon2i, time: 1, memory: 64, threads: 1,
		hash: "b9c401d1844a67d50eae3967dc28870b22e508092e861a37",
	},
	{
		mode: argon2d, time: 1, memory: 64, threads: 1,
		hash: "8727405fd07c32c78d64f547f24150d3f2e703a89f981a19",
	},
	{
		mode: argon2id, time: 1, memory: 64, threads: 1,
		hash: "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 1,
		hash: "8cf3d8f76a6617afe35fac48eb0b7433a9a670ca4a07ed64",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 1,
		hash: "3be9ec79a69b75d3752acb59a1fbb8b295a46529c48fbb75",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 1,
		hash: "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 2,
		hash: "2089f3e78a799720f80af806553128f29b132cafe40d059f",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 2,
		hash: "68e2462c98b8bc6bb60ec68db418ae2c9ed24fc6748a40e9",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 2,
		hash: "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362",
	},
	{
		mode: argon2i, time: 3, memory: 256, threads: 2,
		hash: "f5bbf5d4c3836af13193053155b73ec7476a6a2eb93fd5e6",
	},
	{
		mode: argon2d, time: 3, memory: 256, threads: 2,
		hash: "f4f0669218eaf3641f39cc97efb915721102f4b128211ef2",
	},
	{
		mode: argon2id, time: 3, memory: 256, threads: 2,
		hash: "4668d30ac4187e6878eedeacf0fd83c5a0a30db2cc16ef0b",
	},
	{
		mode: argon2i, time: 4, memory: 4096, threads: 4,
		hash: "a11f7b7f3f93f02ad4bddb59ab62d121e278369288a0d0e7",
	},
	{
		mode: argon2d, time: 4, memory: 4096, threads: 4,
		hash: "935598181aa8dc2b720914aa6435ac8d3e3a4210c5b0fb2d",
	},
	{
		mode: argon2id, time: 4, memory: 4096, threads: 4,
		hash: "145db9733a9f4ee43edf33c509be96b934d505a4efb33c5a",
	},
	{
		mode: argon2i, time: 4, memory: 1024, threads: 8,
		hash: "0cdd3956aa35e6b475a7b0c63488822f774f15b43f6e6e17",
	},
	{
		mode: argon2d, time: 4, memory: 1024, threads: 8,
		hash: "83604fc2ad0589b9d055578f4d3cc55bc616df3578a896e9",
	},
	{
		mode: argon2id, time: 4, memory: 1024, threads: 8,
		hash: "8dafa8e004f8ea96bf7c0f93eecf67a6047476143d15577f",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 3,
		hash: "5cab452fe6b8479c8661def8cd703b611a3905a6d5477fe6",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 3,
		hash: "22474a423bda2ccd36ec9afd5119e5c8949798cadf659f51",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 3,
		hash: "4a15b31aec7c2590b87d1f520be7d96f56658172deaa3079",
	},
	{
		mode: argon2i, time: 3, memory: 1024, threads: 6,
		hash: "d236b29c2b2a09babee842b0dec6aa1e83ccbdea8023dced",
	},
	{
		mode: argon2d, time: 3, memory: 1024, threads: 6,
		hash: "a3351b0319a53229152023d9206902f4ef59661cdca89481",
	},
	{
		mode: argon2id, time: 3, memory: 1024, threads: 6,
		hash: "1640b932f4b60e272f5d2207b9a9c626ffa1bd88d2349016",
	},
}
