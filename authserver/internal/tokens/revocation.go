package tokens

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// Revocation: of single tokens and families (RFC 7009), of every token of
// a user or a client (an epoch bump, epoch.go, then the index walk), and
// the events that tell every cache of it.

// publish sends e on the deployment's revocation channel.
func (s *Store) publish(ctx context.Context, e revocation.Event) error {
	e.At, e.Origin = s.now().Unix(), s.origin
	b, err := revocation.Encode(e)
	if err != nil {
		return fmt.Errorf("tokens: publish: %w", err)
	}
	// Evict here first: this process must not answer from what it revoked,
	// even when the event cannot be sent.
	s.cache.apply(e)
	if err := s.rdb.Publish(ctx, revocation.Channel(s.prefix), b).Err(); err != nil {
		return s.unavailable("publish", err)
	}
	s.revoked(e.Reason)
	return nil
}

// ObserveRevocations sets f to be called with the reason of every
// revocation the store publishes (for metrics). Call it before the Store is
// shared: it is not synchronised.
func (s *Store) ObserveRevocations(f func(reason string)) { s.onRevoke = f }

func (s *Store) revoked(reason revocation.Reason) {
	if s.onRevoke != nil {
		s.onRevoke(string(reason))
	}
}

// RevokeToken revokes token if it is an access or refresh token of
// clientID; hint ("access_token", "refresh_token" or "") says which to try
// first. A refresh token revokes its whole family. Unknown or foreign
// tokens are not an error: found reports whether anything was revoked.
// The token's type prefix already says what it is, so the hint changes
// nothing (RFC 7009 §2.1 lets the server search all types). Errors:
// ErrUnavailable (also when the event could not be published; the token is
// revoked then).
func (s *Store) RevokeToken(ctx context.Context, token, hint, clientID string) (found bool, err error) {
	if fam, h, ok := parseToken(token, accessPrefix); ok {
		return s.revokeAccess(ctx, fam, h, clientID)
	}
	if fam, h, ok := parseToken(token, refreshPrefix); ok {
		return s.revokeRefresh(ctx, fam, h, clientID)
	}
	// An imported token's text does not say what it is.
	fam, h, err := s.locate(ctx, token, accessPrefix)
	if errors.Is(err, grant.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if found, err := s.revokeAccess(ctx, fam, h, clientID); found || err != nil {
		return found, err
	}
	return s.revokeRefresh(ctx, fam, h, clientID)
}

// owned returns the live token record at key (of family fam) if it is
// clientID's (ok). Errors: ErrUnavailable.
func (s *Store) owned(ctx context.Context, fam, key, clientID string) (rec record, ok bool, err error) {
	rec, err = s.get(ctx, "revoke", fam, key)
	if errors.Is(err, grant.ErrNotFound) {
		return rec, false, nil
	}
	return rec, err == nil && rec.ClientID == clientID, err
}

// revokeAccess deletes the access token of family fam with hash h if it
// is clientID's, and publishes its revocation. A token issued without a
// refresh token (no family hash) leaves its index entry too (pruneLater).
func (s *Store) revokeAccess(ctx context.Context, fam, h, clientID string) (bool, error) {
	rec, mine, err := s.owned(ctx, fam, s.keyAT(fam, h), clientID)
	if !mine {
		return false, err
	}
	var del, family *redis.IntCmd
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		del, family = p.Del(ctx, s.keyAT(fam, h)), p.Exists(ctx, s.keyFam(fam))
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return false, s.unavailable("revoke", err)
	}
	if del.Val() == 0 {
		return false, nil
	}
	if family.Val() == 0 {
		// Its index entry ends at its expiry, which the record has to the
		// second: the bucket of the next second too, for a lifetime with
		// a fraction of a second.
		e := indexEntry{g: rec.Grant, member: accessMember(fam, h), end: rec.ExpiresAt}
		later := e
		later.end = e.end.Add(time.Second)
		s.pruneLater(ctx, e, later)
	}
	return true, s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{h}, Reason: revocation.ReasonRevoke})
}

// revokeRefresh revokes the family fam if its refresh token with hash h is
// clientID's, and publishes the revocation of its tokens.
func (s *Store) revokeRefresh(ctx context.Context, fam, h, clientID string) (bool, error) {
	if _, mine, err := s.owned(ctx, fam, s.keyRT(fam, h), clientID); !mine {
		return false, err
	}
	return s.revokeFamily(ctx, fam, revocation.ReasonRevoke)
}

// revokeFamily deletes every live token of family fam, publishes a
// KindTokens event naming them, and prunes the family's index entries
// (pruneLater). found reports whether it deleted any. Errors:
// ErrUnavailable.
func (s *Store) revokeFamily(ctx context.Context, fam string, reason revocation.Reason) (found bool, err error) {
	entry, hs, err := s.deleteFamily(ctx, fam)
	if err != nil || len(hs) == 0 {
		return false, err
	}
	s.pruneLater(ctx, entry)
	return true, s.publish(ctx, revocation.Event{Kind: revocation.KindTokens, TokenHashes: hs, Reason: reason})
}

// revokeFamilyScript deletes a family's live tokens, the family hash and
// its tombstones. It returns the family's horizon, client and user (for
// its index entry; "" when there was no family hash), then the hashes of
// the token keys it deleted. KEYS and ARGV: familyArgs.
var revokeFamilyScript = newScript(`
local f = redis.call('HMGET', KEYS[1], 'a', 'r', 'x', 'c', 'u')
local a, r = f[1], f[2]
local out = {f[3] or '', f[4] or '', f[5] or ''}
if a and redis.call('DEL', ARGV[1] .. a) == 1 then table.insert(out, a) end
if r and redis.call('DEL', ARGV[2] .. r) == 1 then table.insert(out, r) end
redis.call('DEL', KEYS[1], KEYS[2])
return out
`)

// familyArgs are revokeFamilyScript's KEYS and ARGV.
type familyArgs struct {
	fam, tomb          string // keys
	atPrefix, rtPrefix string // the family's token keys, before the hash
}

func (a familyArgs) build() ([]string, []any) {
	return []string{a.fam, a.tomb}, []any{a.atPrefix, a.rtPrefix}
}

// familyOf is familyArgs for family fam.
func (s *Store) familyOf(fam string) familyArgs {
	return familyArgs{fam: s.keyFam(fam), tomb: s.keyTomb(fam), atPrefix: s.keyAT(fam, ""), rtPrefix: s.keyRT(fam, "")}
}

// deleteFamily runs revokeFamilyScript on family fam, returning its index
// entry and the key-form hashes of the tokens it deleted. Errors:
// ErrUnavailable.
func (s *Store) deleteFamily(ctx context.Context, fam string) (indexEntry, []string, error) {
	keys, argv := s.familyOf(fam).build()
	var cmd *redis.Cmd
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) { cmd = revokeFamilyScript.EvalSha(ctx, p, keys, argv...) })
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return indexEntry{}, nil, s.unavailable("revoke family", err)
	}
	res, err := cmd.StringSlice()
	if err != nil || len(res) < 3 {
		return indexEntry{}, nil, s.unavailable("revoke family", fmt.Errorf("reply %v: %w", res, err))
	}
	return familyEntry(fam, res[0], res[1], res[2]), res[3:], nil
}

// publishAll publishes e naming every hash of hs: in e itself when they
// fit in one event, else in KindTokens events of at most maxEventHashes
// (then e, unless it is itself a KindTokens event; a cluster's nodes may
// deliver them in another order). A resource server then
// refuses each revoked token by its hash, even when the auth server it asks
// next has not heard of e yet.
func (s *Store) publishAll(ctx context.Context, e revocation.Event, hs []string) error {
	if len(hs) <= maxEventHashes {
		e.TokenHashes = hs
		return s.publish(ctx, e)
	}
	for i := 0; i < len(hs); i += maxEventHashes {
		batch := revocation.Event{Kind: revocation.KindTokens, TokenHashes: hs[i:min(i+maxEventHashes, len(hs))], Reason: e.Reason}
		if err := s.publish(ctx, batch); err != nil {
			return err
		}
	}
	if e.Kind == revocation.KindTokens {
		return nil
	}
	return s.publish(ctx, e)
}

// allShards lists every shard.
var allShards = []byte(b64Alphabet)

// RevokeUser ends every token of userID issued before now, except the
// family of keep (an access token of the user, or ""; a password change
// keeps the caller's). It bumps the user's epoch (from then on no token
// issued before is accepted, and no request that checked the user before
// can issue one), then cleans up (cleanUp): the user's families go
// through the user's index, and a KindSubject event (Subject is the
// decimal user id, as in introspection's sub) names them. Errors:
// ErrUnavailable; once the bump succeeded the revocation holds.
func (s *Store) RevokeUser(ctx context.Context, userID int64, keep string, reason revocation.Reason) error {
	sh := shardOf(grant.Grant{UserID: userID})
	var k bumpArgs
	var kept []string // its index members: of a family, or of the token alone
	if fam, h, ok := parseToken(keep, accessPrefix); ok && fam[0] == sh {
		kept = []string{fam, accessMember(fam, h)}
		k = bumpArgs{keepFam: s.keyFam(fam), keepAT: s.keyAT(fam, ""), keepRT: s.keyRT(fam, ""), keepAccess: s.keyAT(fam, h), keepUser: userID}
	}
	uid := strconv.FormatInt(userID, 10)
	if err := s.bump(ctx, "u", uid, []byte{sh}, k); err != nil {
		return fmt.Errorf("tokens: revoke user: %w", err)
	}
	return s.cleanUp(ctx, s.keyUser(userID), kept, revocation.Event{Kind: revocation.KindSubject, Subject: uid, Reason: reason})
}

// cleanUp follows a bump: it evicts what e revokes from this process's
// cache at once, deletes the families of index idx but keep, and publishes
// e naming every token deleted (publishAll), so that a resource server
// refuses each by its hash even when the auth server it asks next has not
// heard of e yet. With RunCleanup going, it publishes e at once and leaves
// the index walk (and the events naming the hashes it deletes) to the
// cleaner, so the request pays for neither. Errors: ErrUnavailable; the
// revocation holds anyway.
func (s *Store) cleanUp(ctx context.Context, idx string, keep []string, e revocation.Event) error {
	j := cleanupJob{idx: idx, keep: keep, e: e}
	var err error
	if s.cleaner.Load() != nil {
		if err = s.publish(ctx, e); err == nil { // publish evicts first
			s.queueCleanup(context.WithoutCancel(ctx), j, true)
		}
	} else {
		s.cache.apply(e) // at once: the walk publishes e only at its end
		var hs []string
		if hs, err = s.revokeIndex(ctx, idx, allBut(keep...)); err == nil {
			err = s.publishAll(ctx, e, hs)
		}
	}
	if err != nil {
		return fmt.Errorf("tokens: revoke %s: %w", e.Kind, err)
	}
	return nil
}

// ClientUpdated tells every replica's client cache, and every resource
// server's, that clientID changed in a way that leaves its tokens valid (a
// KindClient event, no epoch bump). Errors: ErrUnavailable.
func (s *Store) ClientUpdated(ctx context.Context, clientID string) error {
	if err := s.publish(ctx, revocation.Event{Kind: revocation.KindClient, ClientID: clientID, Reason: revocation.ReasonClientUpdated}); err != nil {
		return fmt.Errorf("tokens: client updated: %w", err)
	}
	return nil
}

// RevokeClient ends every token of clientID issued before now: it bumps
// the client's epoch in every shard, then cleans up (cleanUp) with a
// KindClient event, on which every replica's client registry forgets the
// client.
// Errors: ErrUnavailable; once the bump succeeded the revocation holds.
func (s *Store) RevokeClient(ctx context.Context, clientID string, reason revocation.Reason) error {
	if err := s.bump(ctx, "c", clientID, allShards, bumpArgs{}); err != nil {
		return fmt.Errorf("tokens: revoke client: %w", err)
	}
	return s.cleanUp(ctx, s.keyClient(clientID), nil, revocation.Event{Kind: revocation.KindClient, ClientID: clientID, Reason: reason})
}
