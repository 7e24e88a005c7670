package tokens

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	redis "github.com/redis/rueidis/rueidiscompat"
)

// Indexes. Every user and every client has an index of its token families,
// so that revoking all of them reads the index instead of the keyspace. A
// member is F for a family with a refresh token, F+H(access) for an access
// token alone, and it stays indexed until its index entry ends: the
// family's expiry, or its index horizon for a family with a refresh token.
//
// An index is split by when its entries end into buckets of bucketWidth:
//
//	<p>u:<id>#<n>  (and <p>c:<id>#<n>) a set of the members whose entries
//	               end in [n, n+1) × bucketWidth; it expires at the end of
//	               that window, so expired members need no pruning
//	<p>u:<id>      (and <p>c:<id>) the registry: a zset of the bucket numbers
//	               n, each scored by its bucket's end (Unix ms); it lives as
//	               long as its last bucket, and its ended buckets are pruned
//	               whenever it is written
//
// An issue costs an SADD and a PEXPIREAT, on a set whose cost does not grow
// with the index. The registry is written the first time a process meets a
// bucket, and again once knownBucketFor has passed. Before buckets, the
// registry key itself held the members, scored by when they end; revoking
// still reads such members (they are as long as a family id, bucket
// numbers are shorter), and they go with their scores.
const (
	bucketWidth = time.Minute
	// knownBucketFor is how long a process trusts that a bucket it
	// registered is still in its registry, so that a registry lost with no
	// error seen (a FLUSHDB, a failover that dropped the write) is mended
	// within this long. Any Redis error forgets every bucket at once.
	knownBucketFor = 10 * time.Second
	// maxKnownBuckets bounds the memory of known buckets; past it, all are
	// forgotten and registered again.
	maxKnownBuckets = 8192
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
func (s *Store) indexesOf(g Grant) []string {
	if g.UserID == 0 {
		return []string{s.keyClient(g.ClientID)}
	}
	return []string{s.keyClient(g.ClientID), s.keyUser(g.UserID)}
}

// queueIndex queues the commands that put member into each index of g
// until end: into the bucket of end, registering that bucket first when
// this process does not know it to be registered. It returns the buckets
// it registers; the caller passes them to s.known.add once the commands
// have succeeded. Plain commands, not a script: this runs on every issue.
func (s *Store) queueIndex(ctx context.Context, p redis.Pipeliner, g Grant, member string, end time.Time) (registered []string) {
	now := s.now()
	n := end.UnixMilli() / bucketWidth.Milliseconds()
	bucketEnd := (n + 1) * bucketWidth.Milliseconds()
	num := strconv.FormatInt(n, 10)
	for _, idx := range s.indexesOf(g) {
		bucket := idx + "#" + num
		if !s.known.has(bucket, now) {
			// GT first raises the expiry of a registry that exists, so
			// that it cannot expire between here and the ZADD; NX then
			// gives one that the ZADD created its first expiry.
			p.Do(ctx, "PEXPIREAT", idx, bucketEnd, "GT")
			p.ZRemRangeByScore(ctx, idx, "-inf", "("+strconv.FormatInt(now.UnixMilli(), 10))
			p.ZAdd(ctx, idx, redis.Z{Score: float64(bucketEnd), Member: num})
			p.Do(ctx, "PEXPIREAT", idx, bucketEnd, "NX")
			registered = append(registered, bucket)
		}
		p.SAdd(ctx, bucket, member)
		p.Do(ctx, "PEXPIREAT", bucket, bucketEnd)
	}
	return registered
}

// indexHolder is a key that holds index members: a bucket (a set), or a
// registry that still holds members written before buckets (a zset).
type indexHolder struct {
	key    string
	legacy bool
}

// eachIndexed calls fn with the members of index idx, at most revokeBatch
// at a time, and the key that holds them; fn returns how many of them it
// removed from there (unindex). The registry is pruned first. A member may
// come more than once. A bucket from which fn removed members is walked
// again, until a walk removes none: the embedded Redis scans a set by
// offset, and so skips members after a removal.
func (s *Store) eachIndexed(ctx context.Context, idx string, fn func(h indexHolder, members []string) (removed int, err error)) error {
	if err := s.rdb.ZRemRangeByScore(ctx, idx, "-inf", "("+strconv.FormatInt(s.now().UnixMilli(), 10)).Err(); err != nil {
		return s.unavailable("index", err)
	}
	entries, err := s.rdb.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return s.unavailable("index", err)
	}
	var legacy []string
	for _, e := range entries {
		if len(e) >= famLen {
			legacy = append(legacy, e)
			continue
		}
		bucket := indexHolder{key: idx + "#" + e}
		for removed := 1; removed > 0; {
			removed = 0
			for cursor := uint64(0); ; {
				var members []string
				members, cursor, err = s.rdb.SScan(ctx, bucket.key, cursor, "", revokeBatch).Result()
				if err != nil {
					return s.unavailable("index", err)
				}
				if len(members) > 0 {
					n, err := fn(bucket, members)
					if err != nil {
						return err
					}
					removed += n
				}
				if cursor == 0 {
					break
				}
			}
		}
	}
	for i := 0; i < len(legacy); i += revokeBatch {
		if _, err := fn(indexHolder{key: idx, legacy: true}, legacy[i:min(i+revokeBatch, len(legacy))]); err != nil {
			return err
		}
	}
	return nil
}

// unindex removes members from the key that holds them.
func (s *Store) unindex(ctx context.Context, h indexHolder, members []string) error {
	rm := make([]any, len(members))
	for i, m := range members {
		rm[i] = m
	}
	var err error
	if h.legacy {
		err = s.rdb.ZRem(ctx, h.key, rm...).Err()
	} else {
		err = s.rdb.SRem(ctx, h.key, rm...).Err()
	}
	if err != nil {
		return s.unavailable("index", err)
	}
	return nil
}

// revokeIndex revokes every family in the index idx but except, a batch at
// a time, removing each batch from the index once its families are gone.
// It returns the event-form hashes of the tokens it deleted.
func (s *Store) revokeIndex(ctx context.Context, idx, except string) ([]string, error) {
	var out []string
	err := s.eachIndexed(ctx, idx, func(h indexHolder, members []string) (int, error) {
		todo := members[:0:0]
		for _, m := range members {
			if len(m) >= famLen && m[:famLen] != except {
				todo = append(todo, m)
			}
		}
		if len(todo) == 0 {
			return 0, nil
		}
		hs, err := s.revokeMembers(ctx, todo)
		out = append(out, hs...)
		if err != nil {
			return 0, err
		}
		return len(todo), s.unindex(ctx, h, todo)
	})
	return out, err
}

// revokeMembers deletes what index members name, in one round trip: a
// family with everything in it, or an access token. It returns the
// event-form hashes of the tokens it deleted.
func (s *Store) revokeMembers(ctx context.Context, members []string) ([]string, error) {
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, m := range members {
			fam := m[:famLen]
			if len(m) == famLen {
				revokeFamilyScript.EvalSha(ctx, p, []string{s.keyFam(fam), s.keyTomb(fam)}, s.keyAT(fam, ""), s.keyRT(fam, ""))
			} else {
				p.Del(ctx, s.keyAT(fam, m[famLen:]))
			}
		}
	})
	if err == nil {
		err = firstErr(cmds)
	}
	if err != nil {
		return nil, s.unavailable("revoke", err)
	}
	var out []string
	for i, c := range cmds {
		switch c := c.(type) {
		case *redis.Cmd:
			hs, _ := c.StringSlice()
			out = append(out, hexAll(hs)...)
		case *redis.IntCmd:
			if c.Val() == 1 {
				out = append(out, hexAll([]string{members[i][famLen:]})...)
			}
		default:
			return out, fmt.Errorf("tokens: revoke: unexpected reply %T", c)
		}
	}
	return out, nil
}
