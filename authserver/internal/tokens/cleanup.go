package tokens

import (
	"context"
	"log/slog"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// cleanupJob is the index walk that follows a user's, a client's or a
// user's grant to a client's epoch bump: delete the families of index idx
// but the members keep (and, with client set, only that client's), and
// publish the hashes of the tokens deleted as e.Reason. Or, with prune
// set, no walk: take those entries of tokens revoked one by one from
// their buckets.
type cleanupJob struct {
	idx    string
	keep   []string
	client string
	e      revocation.Event
	prune  []indexEntry
}

// cleaner runs cleanup jobs off the request path, one at a time. The epoch
// bump already made every token of the user or client useless, so a job
// lost (queue full, process stopped) costs only Redis memory until the
// index buckets expire.
type cleaner struct {
	jobs chan cleanupJob
	log  *slog.Logger
}

// RunCleanup makes the index walks that follow RevokeUser, RevokeClient
// and RevokeUserClient run on the calling goroutine instead of in the
// request that revoked, so that such a revocation costs the request a
// constant number of Redis commands however many families the user has;
// and it takes the index entries of a token or family revoked on its own
// (RFC 7009 revocation, a replay, a rotation refused by an epoch) from
// their buckets, which would otherwise hold them until they expire. At
// most queue jobs wait; one that finds the queue full is dropped and
// logged (RevokeUserClient's runs in its request instead, since its events
// name tokens no other event does). It returns when ctx
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
			s.runJob(ctx, log, j)
		}
	}
}

// runJob runs one cleanup job, logging its failure.
func (s *Store) runJob(ctx context.Context, log *slog.Logger, j cleanupJob) {
	if j.prune != nil {
		if err := s.prune(ctx, j.prune); err != nil {
			log.WarnContext(ctx, "index prune failed; the entries expire with their buckets", "error", err)
		}
		return
	}
	start := time.Now()
	n, err := s.walkIndex(ctx, j)
	if err != nil {
		log.WarnContext(ctx, "revocation cleanup failed; the epoch holds, the index entries expire with their buckets",
			"kind", string(j.e.Kind), "reason", string(j.e.Reason), "error", err)
		return
	}
	log.DebugContext(ctx, "revocation cleanup", "kind", string(j.e.Kind), "reason", string(j.e.Reason),
		"tokens", n, "duration", time.Since(start))
}

// walkIndex deletes the families of j's index but j.keep and publishes
// the hashes of the tokens deleted. It returns how many it deleted.
func (s *Store) walkIndex(ctx context.Context, j cleanupJob) (int, error) {
	pick := allBut(j.keep...)
	if j.client != "" {
		pick = func(members []string) ([]string, error) { return s.ofClient(ctx, members, j.client) }
	}
	hs, err := s.revokeIndex(ctx, j.idx, pick)
	if err != nil {
		return len(hs), err
	}
	if len(hs) == 0 {
		return 0, nil
	}
	return len(hs), s.publishAll(ctx, revocation.Event{Kind: revocation.KindTokens, Reason: j.e.Reason}, hs)
}

// pruneLater takes entries of tokens revoked one by one from their index
// buckets: in the cleaner when one runs (RunCleanup), else at once. A
// failure costs only memory until the buckets expire, so it is no error
// of the revocation.
func (s *Store) pruneLater(ctx context.Context, entries ...indexEntry) {
	if s.cleaner.Load() != nil {
		s.queueCleanup(context.WithoutCancel(ctx), cleanupJob{prune: entries}, true)
		return
	}
	_ = s.prune(context.WithoutCancel(ctx), entries)
}

// queueCleanup hands j to the cleaner, if one still runs, and reports
// whether it did. A full queue refuses j; with drop, that is logged and j
// is dropped, else the caller runs j itself.
func (s *Store) queueCleanup(ctx context.Context, j cleanupJob, drop bool) bool {
	c := s.cleaner.Load()
	if c == nil {
		return false
	}
	select {
	case c.jobs <- j:
		return true
	default:
		if drop {
			c.log.WarnContext(ctx, "revocation cleanup queue full; dropped (the epoch holds, the index entries expire with their buckets)",
				"kind", string(j.e.Kind), "reason", string(j.e.Reason))
		}
		return false
	}
}
