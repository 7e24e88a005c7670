package tokens

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestKnownBuckets: a registered bucket is trusted for knownBucketFor, the
// memory stays bounded, and any Redis error forgets every bucket.
func TestKnownBuckets(t *testing.T) {
	var s Store
	now := time.Now()
	s.known.add([]string{"b1", "b2"}, now)
	if !s.known.has("b1", now.Add(knownBucketFor-time.Millisecond)) {
		t.Fatal("a bucket registered just now is not known")
	}
	if s.known.has("b1", now.Add(knownBucketFor)) {
		t.Fatal("a bucket is still trusted after knownBucketFor")
	}
	if s.known.has("b3", now) {
		t.Fatal("a bucket never registered is known")
	}
	for i := range maxKnownBuckets {
		s.known.add([]string{strconv.Itoa(i)}, now)
	}
	if n := len(s.known.until); n > maxKnownBuckets {
		t.Fatalf("%d known buckets, want at most %d", n, maxKnownBuckets)
	}
	s.known.add([]string{"b1"}, now)
	_ = s.unavailable("test", errors.New("connection reset"))
	if s.known.has("b1", now) {
		t.Fatal("a Redis error did not forget the known buckets")
	}
}
