package tokens

import (
	"context"
	"sync"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// Rotation events are sent in batches. Every refresh rotates, and every
// rotation revokes the tokens it replaced; one event per rotation made each
// subscribed process (resource servers, other auth servers) pay a Redis
// message, a wake-up and a decode per refresh, which capped refresh
// throughput by each subscriber added. A batch is one event naming the
// hashes of every rotation in a short window.
//
// The trade-off: a resource server evicts a rotated-away access token up
// to rotationWindow later than before, well inside the revocation promise
// (p99 under 50 ms), and a crash of this process in that window loses the
// batch, so those access tokens (already deleted in Redis; their families
// live on with new tokens) stay usable at resource servers that cached
// them until their cache TTL. Revocations that a person or a policy asks
// for (RFC 7009, replay, user and client revocation) are not batched.
const (
	// rotationWindow is how long the first rotation of a batch waits for
	// others.
	rotationWindow = 2 * time.Millisecond
	// rotationBatchMax is the most hashes one event carries; a full batch
	// goes at once.
	rotationBatchMax = 256
)

// rotationBatch gathers the hashes of rotated-away tokens and publishes
// them as one revocation event.
type rotationBatch struct {
	mu      sync.Mutex
	hashes  []string
	timer   *time.Timer
	publish func(hashes []string)
	sending sync.Mutex // held while a batch is published: batches go one at a time, in order
}

func newRotationBatch(publish func([]string)) *rotationBatch {
	return &rotationBatch{publish: publish}
}

// add queues hashes for the next event.
func (b *rotationBatch) add(hashes ...string) {
	b.mu.Lock()
	first := len(b.hashes) == 0
	b.hashes = append(b.hashes, hashes...)
	if len(b.hashes) >= rotationBatchMax {
		hs := b.take()
		b.mu.Unlock()
		b.send(hs)
		return
	}
	if first {
		b.timer = time.AfterFunc(rotationWindow, b.Flush)
	}
	b.mu.Unlock()
}

// Flush publishes what is queued now, after any batch being published; a
// server calls it when it stops, and it returns when the batches it could
// see are sent.
func (b *rotationBatch) Flush() {
	b.mu.Lock()
	hs := b.take()
	b.mu.Unlock()
	b.send(hs)
}

// take empties the batch; b.mu is held.
func (b *rotationBatch) take() []string {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	hs := b.hashes
	b.hashes = nil
	return hs
}

func (b *rotationBatch) send(hs []string) {
	b.sending.Lock()
	defer b.sending.Unlock()
	if len(hs) > 0 {
		b.publish(hs)
	}
}

// publishRotations is the Store's rotationBatch publisher. The rotations
// have returned to their callers, so an error has nobody to go to but the
// log the failed publish leaves (the cache purge of unavailable, and the
// subscribers' own resynchronisation when Redis comes back).
func (s *Store) publishRotations(hs []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e := revocation.Event{Kind: revocation.KindTokens, TokenHashes: hs, Reason: revocation.ReasonRotation, At: s.now().Unix(), Origin: s.origin}
	b, err := revocation.Encode(e)
	if err != nil {
		return
	}
	if err := s.rdb.Publish(ctx, revocation.Channel(s.prefix), b).Err(); err != nil {
		_ = s.unavailable("publish rotations", err)
	}
}

// FlushRotations publishes the rotation events still batched; call it
// before the process exits.
func (s *Store) FlushRotations() { s.rotations.Flush() }
