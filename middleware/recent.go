package middleware

import (
	"encoding/binary"
	"sync"
)

// recentSlots is the size of the recent-revocations table: 4096 slots of
// 40 bytes, 160 KiB per Verifier, whatever the event rate.
const recentSlots = 1 << 12

// recentRevocations remembers, in fixed memory, the tokens revocation events
// named that were neither cached nor being asked about here: most events
// (every other process's rotations) name tokens this process never sees.
// They stay out of the negative cache, so they cost it nothing, but an
// answer for one of them that comes back active within the negative TTL
// (from an auth server whose copy of the event is a moment late) is still
// refused. The table is direct-mapped on the hash: a newer token that lands
// in the same slot overwrites an older one, so at a high event rate an
// entry lasts about recentSlots events, far longer than pub/sub's skew
// between processes. Safe for concurrent use.
type recentRevocations struct {
	mu    sync.Mutex
	slots [recentSlots]recentSlot
}

type recentSlot struct {
	key   [32]byte
	until int64 // unix nano
}

func recentIndex(key [32]byte) int {
	return int(binary.LittleEndian.Uint64(key[:8]) & (recentSlots - 1))
}

// add records key as revoked until the unix-nano deadline until.
func (r *recentRevocations) add(key [32]byte, until int64) {
	i := recentIndex(key)
	r.mu.Lock()
	r.slots[i] = recentSlot{key: key, until: until}
	r.mu.Unlock()
}

// until is key's deadline, or 0 if the table does not hold it (any more).
func (r *recentRevocations) until(key [32]byte) int64 {
	i := recentIndex(key)
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.slots[i]; s.key == key {
		return s.until
	}
	return 0
}
