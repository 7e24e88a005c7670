package tokens

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// RevokeUserClient ends every token of userID issued to clientID before
// now (the "revoke" button of /o/authorized_tokens/): it bumps the epoch
// of the pair in the user's shard, so that no such token is accepted
// again, and no request that checked the user before (a grant in flight,
// a code approved before) can issue one. At once it publishes a KindSubject event
// for the user: no event kind names a user's grant to one client, so every
// process drops its cached answers for all of the user's tokens (those of
// other clients are read again, and stay valid), and none can accept a
// revoked one from its cache once this returns. Then it deletes the pair's
// families through the user's index and publishes KindTokens events with
// the deleted tokens' hashes: with RunCleanup going, the cleaner does
// that, so that the request costs a constant number of Redis commands
// however many families the user has; without it, or when its queue is
// full, the request does. Families of other clients are untouched.
// Errors: ErrUnavailable; once the bump succeeded the revocation holds.
func (s *Store) RevokeUserClient(ctx context.Context, userID int64, clientID string, reason revocation.Reason) error {
	if err := s.bump(ctx, "p", pairID(userID, clientID), []byte{shardOf(grant.Grant{UserID: userID})}, bumpArgs{}); err != nil {
		return fmt.Errorf("tokens: revoke user client: %w", err)
	}
	// publish evicts the user's tokens from this process's cache first.
	if err := s.publish(ctx, revocation.Event{Kind: revocation.KindSubject, Subject: strconv.FormatInt(userID, 10), Reason: reason}); err != nil {
		return fmt.Errorf("tokens: revoke user client: %w", err)
	}
	j := cleanupJob{idx: s.keyUser(userID), client: clientID, e: revocation.Event{Kind: revocation.KindTokens, Reason: reason}}
	if s.queueCleanup(context.WithoutCancel(ctx), j, false) {
		return nil
	}
	if _, err := s.walkIndex(ctx, j); err != nil {
		return fmt.Errorf("tokens: revoke user client: %w", err)
	}
	return nil
}

// pairID names a user's grant to a client in its epoch key: a user id has
// no ':', so the pair is unambiguous.
func pairID(userID int64, clientID string) string {
	return strconv.FormatInt(userID, 10) + ":" + clientID
}

// ofClient returns the index members that are families (or lone access
// tokens) of clientID, reading each one's client in one round trip.
func (s *Store) ofClient(ctx context.Context, members []string, clientID string) ([]string, error) {
	type probe struct {
		member string
		fam    *redis.StringCmd // family hash's client
		at     *redis.StringCmd // access record, for access-only members
	}
	probes := make([]probe, 0, len(members))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range members {
			fam, h, ok := splitMember(m)
			if !ok {
				continue
			}
			pr := probe{member: m}
			if h == "" {
				pr.fam = p.HGet(ctx, s.keyFam(fam), "c")
			} else {
				pr.at = p.Get(ctx, s.keyAT(fam, h))
			}
			probes = append(probes, pr)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.unavailable("revoke user client", err)
	}
	var mine []string
	for _, pr := range probes {
		if pr.fam != nil {
			if pr.fam.Val() != clientID {
				continue
			}
		} else if rec, err := decodeRecord(pr.at.Val()); err != nil || rec.ClientID != clientID {
			continue
		}
		mine = append(mine, pr.member)
	}
	return mine, nil
}
