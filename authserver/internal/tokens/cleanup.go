package tokens

import (
	"context"
	"log/slog"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// cleanupJob is the index walk that follows a user's or a client's epoch
// bump: delete the families of index idx but the members keep, and
// publish the hashes of the tokens deleted as e.Reason.
type cleanupJob struct {
	idx  string
	keep []string
	e    revocation.Event
}

// cleaner runs cleanup jobs off the request path, one at a time. The epoch
// bump already made every token of the user or client useless, so a job
// lost (queue full, process stopped) costs only Redis memory until the
// index buckets expire.
type cleaner struct {
	jobs chan cleanupJob
	log  *slog.Logger
}

// RunCleanup makes the index walks that follow RevokeUser and RevokeClient
// run on the calling goroutine instead of in the request that revoked, so
// that a user-wide revocation costs the request a constant number of Redis
// commands however many families the user has. At most queue walks wait;
// one that finds the queue full is dropped and logged. It returns when ctx
// ends, dropping the walks still queued. Run at most one per Store; until
// it has started, and after it returns, the walks run in the request.
func (s *Store) RunCleanup(ctx context.Context, queue int, log *slog.Logger) {
	c := &cleaner{jobs: make(chan cleanupJob, max(queue, 1)), log: log}
	s.cleaner.Store(c)
	defer s.cleaner.Store(nil)
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-c.jobs:
			start := time.Now()
			n, err := s.walkIndex(ctx, j)
			if err != nil {
				log.WarnContext(ctx, "revocation cleanup failed; the epoch holds, the index entries expire with their buckets",
					"kind", string(j.e.Kind), "reason", string(j.e.Reason), "error", err)
				continue
			}
			log.DebugContext(ctx, "revocation cleanup", "kind", string(j.e.Kind), "reason", string(j.e.Reason),
				"tokens", n, "duration", time.Since(start))
		}
	}
}

// walkIndex deletes the families of j's index but j.keep and publishes
// the hashes of the tokens deleted. It returns how many it deleted.
func (s *Store) walkIndex(ctx context.Context, j cleanupJob) (int, error) {
	hs, err := s.revokeIndex(ctx, j.idx, allBut(j.keep...))
	if err != nil {
		return len(hs), err
	}
	if len(hs) == 0 {
		return 0, nil
	}
	return len(hs), s.publishAll(ctx, revocation.Event{Kind: revocation.KindTokens, Reason: j.e.Reason}, hs)
}

// queueCleanup hands j to the cleaner, if one still runs. A full queue
// drops j (logged).
func (s *Store) queueCleanup(ctx context.Context, j cleanupJob) {
	c := s.cleaner.Load()
	if c == nil {
		return
	}
	select {
	case c.jobs <- j:
	default:
		c.log.WarnContext(ctx, "revocation cleanup queue full; dropped (the epoch holds, the index entries expire with their buckets)",
			"kind", string(j.e.Kind), "reason", string(j.e.Reason))
	}
}
