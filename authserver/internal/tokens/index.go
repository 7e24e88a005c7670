package tokens

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"
	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
)

// Indexes. Every user and every client has an index of its token families,
// so that revoking all of them reads the index instead of the keyspace. A
// member is F for a family with a refresh token, S+H(access) for an access
// token alone (accessMember), and it stays indexed until its index entry
// ends: the family's expiry, or its index horizon for a family with a
// refresh token.
//
// An index is split by when its entries end into buckets of bucketWidth:
//
//	<p>u:<id>:<n>  (and <p>c:<id>:<n>) a hash whose fields are the members
//	               whose entries end in [n, n+1) × bucketWidth (values
//	               empty); it expires at the end of that window, so expired
//	               members need no pruning. A hash rather than a set: up to
//	               hash-max-listpack-entries (512) members it is a listpack,
//	               about a third of a set's memory (Redis 7.0 has no
//	               listpack sets); past that it costs 8 bytes a member more
//	<p>u:<id>      (and <p>c:<id>) the registry: a zset of the bucket numbers
//	               n, each scored by its bucket's end (Unix ms); it lives as
//	               long as its last bucket, and its ended buckets are pruned
//	               whenever a bucket is registered
//
// ':' occurs in no user or client id, so no bucket key is another index's
// registry. An issue costs an SADD and a PEXPIREAT, on a set whose cost does
// not grow with the index. A process registers a bucket the first time it
// meets it and again once knownBucketFor has passed, so that a registry
// entry lost with no error seen (a FLUSHDB, a failover that dropped the
// write) comes back with that bucket's next write; a bucket that gets no
// further write stays unreachable until it ends (its tokens are refused
// after a revocation all the same: the epochs of epoch.go are the
// guarantee, the index is cleanup).
//
// Revocation takes from an index only the members whose tokens it deleted:
// a member whose token is not written yet (an issue running alongside) stays
// for the next revocation, and one whose tokens had expired leaves with its
// bucket.
const (
	bucketWidth = time.Minute
	// knownBucketFor is how long a process trusts that a bucket it
	// registered is still in its registry. Any Redis error forgets every
	// bucket at once.
	knownBucketFor = 10 * time.Second
	// maxKnownBuckets bounds the memory of known buckets; past it, all are
	// forgotten and registered again.
	maxKnownBuckets = 8192
	// maxWalks bounds how often one key of an index is walked again (see
	// walk).
	maxWalks = 32
)

// knownBuckets are the bucket keys this process registered, with when
// to stop trusting that.
type knownBuckets struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (k *knownBuckets) has(key string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return now.Before(k.until[key])
}

func (k *knownBuckets) add(keys []string, now time.Time) {
	if len(keys) == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.until == nil || len(k.until)+len(keys) > maxKnownBuckets {
		k.until = make(map[string]time.Time, len(keys))
	}
	for _, key := range keys {
		k.until[key] = now.Add(knownBucketFor)
	}
}

func (k *knownBuckets) forget() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.until = nil
}

// indexesOf names the indexes a family of g goes into: its client's and,
// when it has one, its user's.
func (s *Store) indexesOf(g grant.Grant) []string {
	if g.UserID == 0 {
		return []string{s.keyClient(g.ClientID)}
	}
	return []string{s.keyClient(g.ClientID), s.keyUser(g.UserID)}
}

// bucketKey names bucket n of the index whose registry is idx.
func bucketKey(idx, n string) string { return idx + ":" + n }

// bucketOf is the number of the bucket of entries that end at end.
func bucketOf(end time.Time) int64 { return end.UnixMilli() / bucketWidth.Milliseconds() }

// indexEntry is an index entry whose tokens were deleted one by one (a
// token or family revoked, a replay): member, in the bucket of end of each
// index of g.
type indexEntry struct {
	g      grant.Grant
	member string
	end    time.Time
}

// familyEntry is the index entry of family fam with horizon x (Unix ms),
// of client c and user uid (both as a family hash holds them).
func familyEntry(fam, x, c, uid string) indexEntry {
	ms, _ := strconv.ParseInt(x, 10, 64)
	id, _ := strconv.ParseInt(uid, 10, 64)
	return indexEntry{g: grant.Grant{ClientID: c, UserID: id}, member: fam, end: time.UnixMilli(ms)}
}

// pruneCmds are the HDELs that take entries from their buckets.
func (s *Store) pruneCmds(entries []indexEntry) rueidis.Commands {
	var cmds rueidis.Commands
	for _, e := range entries {
		num := strconv.FormatInt(bucketOf(e.end), 10)
		for _, idx := range s.indexesOf(e.g) {
			cmds = append(cmds, s.rc.B().Hdel().Key(bucketKey(idx, num)).Field(e.member).Build())
		}
	}
	return cmds
}

// prune takes entries from their buckets, in one round trip. Errors:
// ErrUnavailable.
func (s *Store) prune(ctx context.Context, entries []indexEntry) error {
	if _, err := s.doMulti(ctx, func() rueidis.Commands { return s.pruneCmds(entries) }); err != nil {
		return s.unavailable("index", err)
	}
	return nil
}

// indexCmds are the commands that put member into each index of g until
// end: into the bucket of end, registering that bucket first when this
// process does not know it to be registered. It returns the buckets it
// registers; the caller passes them to s.known.add once the commands have
// succeeded. Plain commands, and a script only to register: this runs on
// every issue.
func (s *Store) indexCmds(g grant.Grant, member string, end time.Time) (cmds rueidis.Commands, registered []string) {
	now := s.now()
	n := bucketOf(end)
	bucketEnd := (n + 1) * bucketWidth.Milliseconds()
	num := strconv.FormatInt(n, 10)
	cmds = make(rueidis.Commands, 0, 6)
	for _, idx := range s.indexesOf(g) {
		bucket := bucketKey(idx, num)
		if !s.known.has(bucket, now) {
			keys, argv := registerArgs{registry: idx, now: now, bucket: num, bucketEnd: bucketEnd}.build()
			cmds = append(cmds, s.evalsha(registerScript, keys, argv))
			registered = append(registered, bucket)
		}
		cmds = append(cmds, s.rc.B().Hset().Key(bucket).FieldValue().FieldValue(member, "").Build(),
			s.rc.B().Pexpireat().Key(bucket).MillisecondsTimestamp(bucketEnd).Build())
	}
	return cmds, registered
}

// indexHolder is a key that holds index members (a bucket, a hash), or the
// registry of an index's buckets (a zset).
type indexHolder struct {
	key      string
	registry bool
}

// eachIndexed calls fn with the members of index idx, at most about
// revokeBatch at a time, and the bucket that holds them; fn returns how
// many of them it removed from there (unindex). The registry is pruned
// first. A member may come more than once.
func (s *Store) eachIndexed(ctx context.Context, idx string, fn func(bucket string, members []string) (removed int, err error)) error {
	if err := s.rdb.ZRemRangeByScore(ctx, idx, "-inf", "("+strconv.FormatInt(s.now().UnixMilli(), 10)).Err(); err != nil {
		return s.unavailable("index", err)
	}
	var buckets []string
	seen := map[string]bool{}
	err := s.walk(ctx, indexHolder{key: idx, registry: true}, func(page []string) (int, error) {
		for _, n := range page {
			if !seen[n] {
				seen[n] = true
				buckets = append(buckets, n)
			}
		}
		return 0, nil
	})
	if err != nil {
		return err
	}
	for _, n := range buckets {
		bucket := bucketKey(idx, n)
		if err := s.walk(ctx, indexHolder{key: bucket}, func(page []string) (int, error) { return fn(bucket, page) }); err != nil {
			return err
		}
	}
	return nil
}

// walk calls fn with the members of h a page at a time (HSCAN, or ZSCAN
// for a registry); fn returns how many of them it removed. A walk that
// removed members is walked again, up to maxWalks times in all: the
// embedded Redis scans by offset, and so skips members after a removal
// (each walk there takes about half of what is left); on Redis a later walk
// finds only members added meanwhile.
func (s *Store) walk(ctx context.Context, h indexHolder, fn func(page []string) (int, error)) error {
	for range maxWalks {
		removed := 0
		for cursor := uint64(0); ; {
			var page []string
			var err error
			if h.registry {
				page, cursor, err = s.rdb.ZScan(ctx, h.key, cursor, "", revokeBatch).Result()
			} else {
				page, cursor, err = s.rdb.HScan(ctx, h.key, cursor, "", revokeBatch).Result()
			}
			page = scanMembers(page)
			if err != nil {
				return s.unavailable("index", err)
			}
			if len(page) > 0 {
				n, err := fn(page)
				if err != nil {
					return err
				}
				removed += n
			}
			if cursor == 0 {
				break
			}
		}
		if removed == 0 {
			return nil
		}
	}
	return nil
}

// scanMembers keeps the members of a ZSCAN reply (member, score, …) or
// the fields of an HSCAN reply (field, value, …).
func scanMembers(kv []string) []string {
	out := make([]string, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, kv[i])
	}
	return out
}

// unindex removes members from bucket.
func (s *Store) unindex(ctx context.Context, bucket string, members []string) error {
	if err := s.rdb.HDel(ctx, bucket, members...).Err(); err != nil {
		return s.unavailable("index", err)
	}
	return nil
}

// revokeIndex revokes the members of index idx that pick chooses, a batch at
// a time, and takes from the index those whose tokens it deleted. It
// returns the event-form hashes of the tokens it deleted.
func (s *Store) revokeIndex(ctx context.Context, idx string, pick func(members []string) ([]string, error)) ([]string, error) {
	var out []string
	err := s.eachIndexed(ctx, idx, func(bucket string, members []string) (int, error) {
		todo, err := pick(members)
		if err != nil || len(todo) == 0 {
			return 0, err
		}
		hs, gone, err := s.revokeMembers(ctx, todo)
		out = append(out, hs...)
		if err != nil || len(gone) == 0 {
			return 0, err
		}
		return len(gone), s.unindex(ctx, bucket, gone)
	})
	return out, err
}

// allBut picks every member but those of except.
func allBut(except ...string) func([]string) ([]string, error) {
	return func(members []string) ([]string, error) {
		var todo []string
		for _, m := range members {
			if _, _, ok := splitMember(m); ok && !slices.Contains(except, m) {
				todo = append(todo, m)
			}
		}
		return todo, nil
	}
}

// accessMember is the index member of an access token issued without a
// refresh token (in family fam, with hash h): its shard and its hash, all
// its key needs (keyAT).
func accessMember(fam, h string) string { return fam[:1] + h }

// splitMember splits an index member: a family member is its family id
// (h ""), an access member its shard (in place of a family, for keyAT) and
// its hash. ok is false for anything else.
func splitMember(m string) (fam, h string, ok bool) {
	switch len(m) {
	case famLen:
		return m, "", true
	case 1 + hashLen:
		return m[:1], m[1:], true
	}
	return "", "", false
}

// revokeMembers deletes what index members name, in one round trip: a
// family with everything in it, or an access token. It returns the
// event-form hashes of the tokens it deleted, and the members it deleted
// tokens of.
func (s *Store) revokeMembers(ctx context.Context, members []string) (hashes, gone []string, err error) {
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, m := range members {
			if fam, h, _ := splitMember(m); h == "" {
				keys, argv := s.familyOf(fam).build()
				revokeFamilyScript.EvalSha(ctx, p, keys, argv...)
			} else {
				p.Del(ctx, s.keyAT(fam, h))
			}
		}
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return nil, nil, s.unavailable("revoke", err)
	}
	for i, c := range cmds {
		var hs []string
		switch c := c.(type) {
		case *redis.Cmd:
			hs, _ = c.StringSlice()
			hs = hs[min(3, len(hs)):] // after the family's horizon, client and user
		case *redis.IntCmd:
			if c.Val() == 1 {
				_, h, _ := splitMember(members[i])
				hs = []string{h}
			}
		default:
			return hashes, gone, fmt.Errorf("tokens: revoke: unexpected reply %T", c)
		}
		if len(hs) > 0 {
			hashes = append(hashes, hs...)
			gone = append(gone, members[i])
		}
	}
	return hashes, gone, nil
}

// registerScript adds bucket n to the index registry KEYS[1], dropping the
// buckets that ended, and makes the registry live at least until that
// bucket ends. One script, so that registrations of different buckets
// running at once cannot leave the registry expiring before its last
// bucket (an expiry set by one with NX after another's GT found none).
// KEYS and ARGV: registerArgs.
var registerScript = newScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[3], 'GT')
end
return 1
`)

// registerArgs are registerScript's KEYS and ARGV.
type registerArgs struct {
	registry  string // key
	now       time.Time
	bucket    string // its number
	bucketEnd int64  // Unix ms
}

func (a registerArgs) build() (keys, argv []string) {
	return []string{a.registry}, []string{strconv.FormatInt(a.now.UnixMilli(), 10), a.bucket, strconv.FormatInt(a.bucketEnd, 10)}
}
