package tokens

import (
	"context"
	"errors"
	"fmt"

	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// RevokeUserClient revokes every token family of userID that was issued to
// clientID (the "revoke" button of /o/authorized_tokens/), then publishes a
// KindTokens event with the deleted tokens' hashes. Families of other
// clients are untouched. Errors: ErrUnavailable.
func (s *Store) RevokeUserClient(ctx context.Context, userID int64, clientID, reason string) error {
	idx := s.keyUser(userID)
	members, err := s.rdb.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return s.unavailable("revoke user client", err)
	}
	type probe struct {
		member string
		fam    *redis.StringCmd // family hash's client
		at     *redis.StringCmd // access record, for access-only members
	}
	probes := make([]probe, 0, len(members))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range members {
			if len(m) < famLen {
				continue
			}
			pr := probe{member: m}
			if len(m) == famLen {
				pr.fam = p.HGet(ctx, s.keyFam(m), "c")
			} else {
				pr.at = p.Get(ctx, s.keyAT(m[:famLen], m[famLen:]))
			}
			probes = append(probes, pr)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return s.unavailable("revoke user client", err)
	}
	var hashes []string
	var gone []any
	for _, pr := range probes {
		fam := pr.member[:famLen]
		if pr.fam != nil {
			if pr.fam.Val() != clientID {
				continue
			}
			hs, err := revokeFamilyScript.Run(ctx, s.rdb, []string{s.keyFam(fam), s.keyTomb(fam)}, s.keyAT(fam, ""), s.keyRT(fam, "")).StringSlice()
			if err != nil {
				return s.unavailable("revoke user client", err)
			}
			hashes = append(hashes, hexAll(hs)...)
		} else {
			rec, err := decodeRecord(pr.at.Val())
			if err != nil || rec.ClientID != clientID {
				continue
			}
			if err := s.rdb.Del(ctx, s.keyAT(fam, pr.member[famLen:])).Err(); err != nil {
				return s.unavailable("revoke user client", err)
			}
			hashes = append(hashes, hexAll([]string{pr.member[famLen:]})...)
		}
		gone = append(gone, pr.member)
	}
	if len(gone) > 0 {
		if err := s.rdb.ZRem(ctx, idx, gone...).Err(); err != nil {
			return s.unavailable("revoke user client", err)
		}
	}
	if len(hashes) == 0 {
		return nil
	}
	// A tokens event is the only thing that names these tokens, so every
	// hash must go out.
	if err := s.publishAll(ctx, revocation.Event{Kind: revocation.KindTokens, Reason: reason}, hashes); err != nil {
		return fmt.Errorf("tokens: revoke user client: %w", err)
	}
	return nil
}
