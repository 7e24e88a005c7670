package embeddedredis

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// TestRestoreDropsWhatExpiredMeanwhile restores a snapshot as if the server
// had been down for 90 minutes: the 1 h key is gone, the 2 h key is back
// with the 30 minutes it has left.
func TestRestoreDropsWhatExpiredMeanwhile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "redis.snapshot")
	s, err := Start(Config{Addr: "127.0.0.1:0", SnapshotPath: path})
	if err != nil {
		t.Fatal(err)
	}
	s.m.Set("one-hour", "a")
	s.m.SetTTL("one-hour", time.Hour)
	s.m.Set("two-hours", "b")
	s.m.SetTTL("two-hours", 2*time.Hour)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m := miniredis.NewMiniRedis()
	defer m.Close()
	later := time.Now().Add(90 * time.Minute)
	n, err := restore(m, path, later)
	if err != nil || n != 1 {
		t.Fatalf("restore = %d, %v; want 1 key", n, err)
	}
	if m.Exists("one-hour") {
		t.Fatal("the 1 h key came back after 90 minutes")
	}
	if ttl := m.TTL("two-hours"); ttl > 30*time.Minute || ttl < 29*time.Minute {
		t.Fatalf("two-hours TTL %v, want about 30m", ttl)
	}
}
