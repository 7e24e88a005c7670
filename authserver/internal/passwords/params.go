package passwords

import (
	"errors"
	"fmt"
)

// Bounds that NewHasher enforces and that Verify applies to the parameters
// found in a stored argon2 hash, so a corrupt row cannot make one login
// allocate gigabytes or run for minutes.
const (
	maxArgonTime      = 64
	maxArgonMemoryKiB = 1 << 21 // 2 GiB
	minKeyLen         = 16
	maxKeyLen         = 1024
	minSaltLen        = 8
	maxSaltLen        = 1024
)

// Params are the argon2id cost parameters (RFC 9106 §3.1) and output sizes.
type Params struct {
	Time      uint32 // passes over memory (t)
	MemoryKiB uint32 // memory in KiB (m)
	Threads   uint8  // lanes (p)
	KeyLen    uint32 // derived key length in bytes
	SaltLen   uint32 // random salt length in bytes
}

// DefaultParams returns argon2id with t=2, m=19456 KiB (19 MiB), p=1, a 32-byte
// key and a 16-byte salt. This is the first configuration in the OWASP Password
// Storage Cheat Sheet: it costs tens of milliseconds on one core and keeps
// memory per concurrent login at 19 MiB, so a burst of logins cannot exhaust a
// small container the way RFC 9106's 2 GiB or 64 MiB profiles would.
func DefaultParams() Params {
	return Params{Time: 2, MemoryKiB: 19456, Threads: 1, KeyLen: 32, SaltLen: 16}
}

// Validate reports why p is unusable, or nil. It rejects nonsense, not weak
// settings: tests may use Time=1, MemoryKiB=64 to run fast.
func (p Params) Validate() error {
	var errs []error
	if p.Time < 1 || p.Time > maxArgonTime {
		errs = append(errs, fmt.Errorf("time %d not in [1, %d]", p.Time, maxArgonTime))
	}
	if p.Threads < 1 {
		errs = append(errs, errors.New("threads must be at least 1"))
	}
	if minMem := 8 * uint32(p.Threads); p.MemoryKiB < minMem || p.MemoryKiB > maxArgonMemoryKiB {
		errs = append(errs, fmt.Errorf("memory %d KiB not in [8*threads=%d, %d]", p.MemoryKiB, minMem, maxArgonMemoryKiB))
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		errs = append(errs, fmt.Errorf("key length %d not in [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen))
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		errs = append(errs, fmt.Errorf("salt length %d not in [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("passwords: params: %w", err)
	}
	return nil
}
