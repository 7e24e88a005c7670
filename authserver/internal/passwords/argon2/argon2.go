// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2 is golang.org/x/crypto/argon2 (v0.59.0) with one change:
// the caller may hand in the memory a derivation works in (a Memory), and
// reuse it for the next one.
//
// x/crypto allocates a fresh, zeroed slice of the whole memory cost (19 MiB
// with our defaults) for every derivation, and the garbage collector lets
// those freed slices pile up to about twice the live heap: a password
// server that runs two derivations at a time grew to 130–170 MiB. With one
// Memory per derivation slot the process keeps exactly one memory cost per
// Memory in use (on unix mapped outside the Go heap), and no derivation
// spends time zeroing or faulting in fresh pages.
//
// The algorithm is x/crypto's, line for line, except that the first pass
// over memory writes each block instead of XORing into it (x/crypto relies
// on the fresh slice being zero; RFC 9106 section 3.2 defines the first
// pass without the XOR), so a reused Memory's old contents never reach the
// result. The tests check every output against x/crypto's. blake2b.go, the
// SSE4 kernel (blamka_amd64.go, blamka_amd64.s) and the generic one
// (blamka_generic.go, blamka_ref.go) are x/crypto's; the generic one also
// serves loong64, whose LSX kernel is left out, and blamka_ref.go's build
// constraint says so.
package argon2

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/crypto/blake2b"
)

// Version is the Argon2 version implemented.
const Version = 0x13

const (
	argon2d = iota
	argon2i
	argon2id
)

// Memory is the working memory of derivations, reused from one to the
// next. A Memory must not be used by two derivations at once, nor
// Released while a derivation uses it.
//
// Where the system allows (unix), the memory is mapped outside the Go heap,
// so that it neither counts towards the garbage collector's heap goal (19
// MiB of it held would let the collector wait for about as much garbage
// before it runs) nor costs a scan; elsewhere it is an ordinary slice.
type Memory struct {
	blocks []block
	region *region // the mapping behind blocks, if any
	max    uint32  // blocks it may keep
}

// NewMemory returns an empty Memory that keeps up to maxKiB KiB between
// derivations. A derivation that needs more works in memory of its own,
// freed after it, so that one hash with a larger cost does not leave its
// memory held.
func NewMemory(maxKiB uint32) *Memory { return &Memory{max: maxKiB} }

// Bytes is how much memory m keeps now.
func (m *Memory) Bytes() int { return len(m.blocks) * blockLength * 8 }

// Release lets go of the memory m keeps; the next derivation in m
// allocates again.
func (m *Memory) Release() {
	m.blocks = nil
	if m.region != nil {
		m.region.free()
		m.region = nil
	}
}

// take returns n blocks of m, growing it if it keeps fewer; a nil m, or
// n over m's limit, gives a fresh slice that m does not keep.
func (m *Memory) take(n uint32) []block {
	if m == nil || n > m.max {
		return make([]block, n)
	}
	if uint32(len(m.blocks)) < n {
		m.Release() // let the old one go before the new one is made
		if size := uint64(n) * blockLength * 8; size <= math.MaxInt {
			m.region = mapRegion(int(size))
		}
		if m.region != nil {
			m.blocks = unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(m.region.b))), n)
		} else {
			m.blocks = make([]block, n)
		}
	}
	return m.blocks[:n]
}

// Key derives a key with Argon2i, as x/crypto's argon2.Key, in mem (nil:
// in memory of its own).
func Key(mem *Memory, password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return deriveKey(mem, argon2i, password, salt, nil, nil, time, memory, threads, keyLen)
}

// IDKey derives a key with Argon2id, as x/crypto's argon2.IDKey, in mem
// (nil: in memory of its own).
func IDKey(mem *Memory, password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return deriveKey(mem, argon2id, password, salt, nil, nil, time, memory, threads, keyLen)
}

func deriveKey(mem *Memory, mode int, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2: parallelism degree too low")
	}
	h0 := initHash(password, salt, secret, data, time, memory, uint32(threads), keyLen, mode)

	memory = memory / (syncPoints * uint32(threads)) * (syncPoints * uint32(threads))
	if memory < 2*syncPoints*uint32(threads) {
		memory = 2 * syncPoints * uint32(threads)
	}
	B := mem.take(memory)
	initBlocks(B, &h0, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads), mode)
	key := extractKey(B, memory, uint32(threads), keyLen)
	runtime.KeepAlive(mem) // B may be mem's mapping, which mem's collection would unmap
	return key
}

const (
	blockLength = 128
	syncPoints  = 4
)

type block [blockLength]uint64

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32, mode int) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(mode))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of each lane of B.
func initBlocks(B []block, h0 *[blake2b.Size + 8]byte, memory, threads uint32) {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
}

func processBlocks(B []block, time, memory, threads uint32, mode int) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(mode)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			if mode == argon2i || mode == argon2id {
				in[6]++
				processBlock(&addresses, &in, &zero)
				processBlock(&addresses, &addresses, &zero)
			}
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			if n == 0 {
				// The first pass writes the block: what the memory held
				// before (a reused Memory's last derivation) must not count.
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			var wg sync.WaitGroup
			for lane := uint32(0); lane < threads; lane++ {
				wg.Add(1)
				go processSegment(n, slice, lane, &wg)
			}
			wg.Wait()
		}
	}

}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}
func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
