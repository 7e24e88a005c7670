package tokens

import (
	"context"
	"fmt"
	"strconv"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	redis "github.com/redis/rueidis/rueidiscompat"
)

// Counting live grants, for the admin's "tokens per user and per
// application". It reads the same indexes revocation walks (see index.go):
// the registry's buckets that have not ended, the members of each, and
// then whether each member's tokens still exist, so that a grant already
// revoked or expired is not counted. It writes nothing.

// countBatch is how many members one existence round trip checks.
const countBatch = 500

// CountUser returns how many live grants user userID holds: token families
// with a refresh token, and access tokens issued without one. Errors:
// ErrUnavailable.
func (s *Store) CountUser(ctx context.Context, userID int64) (int, error) {
	return s.countIndex(ctx, s.keyUser(userID))
}

// CountClient returns how many live grants the client clientID holds (see
// CountUser). Errors: ErrUnavailable.
func (s *Store) CountClient(ctx context.Context, clientID string) (int, error) {
	return s.countIndex(ctx, s.keyClient(clientID))
}

func (s *Store) countIndex(ctx context.Context, idx string) (int, error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("tokens: count: %w: %w", grant.ErrUnavailable, err) }
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	entries, err := s.rdb.ZRangeByScore(ctx, idx, redis.ZRangeBy{Min: "(" + now, Max: "+inf"}).Result()
	if err != nil {
		return fail(err)
	}
	members := map[string]bool{}
	for _, e := range entries {
		for cursor := uint64(0); ; {
			page, next, err := s.rdb.HScan(ctx, bucketKey(idx, e), cursor, "", countBatch).Result()
			if err != nil {
				return fail(err)
			}
			for _, m := range scanMembers(page) {
				if _, _, ok := splitMember(m); ok {
					members[m] = true
				}
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
	}
	list := make([]string, 0, len(members))
	for m := range members {
		list = append(list, m)
	}
	live := 0
	for len(list) > 0 {
		batch := list[:min(countBatch, len(list))]
		list = list[len(batch):]
		cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range batch {
				if fam, h, _ := splitMember(m); h == "" {
					p.Exists(ctx, s.keyFam(fam))
				} else {
					p.Exists(ctx, s.keyAT(fam, h))
				}
			}
			return nil
		})
		if err != nil {
			return fail(err)
		}
		for _, c := range cmds {
			if c.(*redis.IntCmd).Val() > 0 {
				live++
			}
		}
	}
	return live, nil
}
