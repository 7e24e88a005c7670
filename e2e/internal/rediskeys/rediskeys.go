// Package rediskeys walks and deletes the keys under a REDIS_PREFIX, for
// the bench and the end-to-end tests, which run real servers under a fresh
// prefix in a shared Redis.
package rediskeys

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Scan calls fn for every key under prefix.
func Scan(ctx context.Context, rdb *redis.Client, prefix string, fn func(key string) error) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := fn(iter.Val()); err != nil {
			return err
		}
	}
	return iter.Err()
}

// Delete unlinks every key under prefix, 500 at a time.
func Delete(ctx context.Context, rdb *redis.Client, prefix string) error {
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := rdb.Unlink(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	err := Scan(ctx, rdb, prefix, func(k string) error {
		batch = append(batch, k)
		if len(batch) >= 500 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
