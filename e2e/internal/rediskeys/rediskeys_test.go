package rediskeys

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// TestDelete: every key under the prefix goes (more than one batch), and a
// key that only shares the prefix's beginning stays.
func TestDelete(t *testing.T) {
	url := servicetest.Require(t, "TEST_REDIS_URL")
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	prefix := fmt.Sprintf("rk%d:", time.Now().UnixNano())
	outsider := prefix[:len(prefix)-1] + "x"
	for i := range 1203 {
		if err := rdb.Set(ctx, fmt.Sprintf("%s%d", prefix, i), i, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Set(ctx, outsider, 1, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	defer rdb.Del(ctx, outsider)
	if err := Delete(ctx, rdb, prefix); err != nil {
		t.Fatal(err)
	}
	left := 0
	if err := Scan(ctx, rdb, prefix, func(string) error { left++; return nil }); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d keys left under %s", left, prefix)
	}
	if n := rdb.Exists(ctx, outsider).Val(); n != 1 {
		t.Fatal("a key outside the prefix was deleted")
	}
}
