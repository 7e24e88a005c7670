package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"
)

// Flash messages are one-time notes for the session's next page ("The
// user was added."), as Django's messages framework keeps them: a list
// beside the session's key, which lives no longer than an idle session.

func (s *Store) flashKey(id string) string { return s.key(id) + ":flash" }

// maxFlash bounds a session's pending messages.
const maxFlash = 20

// AddFlash queues msg for the session id names. Errors: ErrUnavailable.
func (s *Store) AddFlash(ctx context.Context, id, msg string) error {
	k := s.flashKey(id)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, k, msg)
		p.LTrim(ctx, k, -maxFlash, -1)
		p.PExpire(ctx, k, s.idle)
		return nil
	})
	if err != nil {
		return fmt.Errorf("sessions: add flash: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// TakeFlash returns and removes the session's queued messages, oldest
// first; each is returned once. Errors: ErrUnavailable.
func (s *Store) TakeFlash(ctx context.Context, id string) ([]string, error) {
	k := s.flashKey(id)
	var lr *redis.StringSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		lr = p.LRange(ctx, k, 0, -1)
		p.Del(ctx, k)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("sessions: take flash: %w: %w", ErrUnavailable, err)
	}
	return lr.Val(), nil
}

func (s *Store) stashKey(id, name string) string { return s.key(id) + ":stash:" + name }

// Stash keeps value for the session id names under name, for one later
// Take within ttl (at most the idle timeout): what a POST hands to the page
// it redirects to. Errors: ErrUnavailable.
func (s *Store) Stash(ctx context.Context, id, name, value string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.stashKey(id, name), value, min(ttl, s.idle)).Err(); err != nil {
		return fmt.Errorf("sessions: stash: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Take returns and removes what Stash kept under name; ok is false when
// nothing is there (never stashed, taken, or expired). Errors:
// ErrUnavailable.
func (s *Store) Take(ctx context.Context, id, name string) (value string, ok bool, err error) {
	v, err := s.rdb.GetDel(ctx, s.stashKey(id, name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("sessions: take: %w: %w", ErrUnavailable, err)
	}
	return v, true, nil
}
