package tokens

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// recorder collects what a rotationBatch publishes.
type recorder struct {
	mu      sync.Mutex
	batches [][]string
}

func (r *recorder) publish(hs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, hs)
}

func (r *recorder) got() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.batches...)
}

// TestRotationBatchFullGoesAtOnce: a batch that reaches rotationBatchMax
// hashes is published by the add that filled it, as one event.
func TestRotationBatchFullGoesAtOnce(t *testing.T) {
	var r recorder
	b := newRotationBatch(r.publish)
	for i := range rotationBatchMax / 2 {
		b.add("a"+strconv.Itoa(i), "r"+strconv.Itoa(i))
	}
	got := r.got()
	if len(got) != 1 || len(got[0]) != rotationBatchMax {
		t.Fatalf("published %d batches (first %d hashes), want one of %d at once", len(got), len(got[0]), rotationBatchMax)
	}
	b.Flush()
	if n := len(r.got()); n != 1 {
		t.Fatalf("an empty batch was published too: %d batches", n)
	}
}

// TestRotationBatchWindow: a lone rotation's hashes go out on their own
// after the window, and Flush sends what is queued at once.
func TestRotationBatchWindow(t *testing.T) {
	var r recorder
	b := newRotationBatch(r.publish)
	b.add("a1", "r1")
	servicetest.Eventually(t, 5*time.Second, "the window's batch is published", func() bool { return len(r.got()) == 1 })
	if got := r.got()[0]; len(got) != 2 || got[0] != "a1" || got[1] != "r1" {
		t.Fatalf("batch = %v", got)
	}
	b.add("a2", "r2")
	b.Flush()
	if got := r.got(); len(got) != 2 || len(got[1]) != 2 || got[1][0] != "a2" {
		t.Fatalf("after Flush: %v", got)
	}
}

// TestRotationEventsNameEveryRotation: concurrent rotations all reach the
// channel, each rotated-away access and refresh token named once, however
// they were batched.
func TestRotationEventsNameEveryRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		const n = 40
		next := e.subscribe(t)
		want := map[string]bool{}
		var fams []string
		for i := range n {
			iss := mustIssue(t, e, userGrant(int64(100+i)), true)
			want[revocation.HashString(iss.AccessToken)] = true
			want[revocation.HashString(iss.RefreshToken)] = true
			fams = append(fams, iss.RefreshToken)
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, rt := range fams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.s.Rotate(context.Background(), rt, "rs-id", ""); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		events := 0
		for len(want) > 0 {
			ev := next()
			events++
			if ev.Reason != revocation.ReasonRotation || ev.Kind != revocation.KindTokens {
				t.Fatalf("event %+v, want a rotation's", ev)
			}
			for _, h := range ev.TokenHashes {
				if !want[h] {
					t.Fatalf("hash %s named twice, or not a rotated-away token", h)
				}
				delete(want, h)
			}
		}
		t.Logf("%d rotations in %d events", n, events)
	})
}

// TestRotationBatchConcurrent: rotations from many goroutines, the
// window's timers and explicit flushes together publish every hash
// exactly once.
func TestRotationBatchConcurrent(t *testing.T) {
	var r recorder
	b := newRotationBatch(r.publish)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				b.add(strconv.Itoa(g) + "-" + strconv.Itoa(i))
				if i%97 == 0 {
					b.Flush()
				}
			}
		}()
	}
	wg.Wait()
	b.Flush()
	seen := map[string]bool{}
	for _, batch := range r.got() {
		if len(batch) == 0 || len(batch) > rotationBatchMax {
			t.Fatalf("a batch of %d hashes", len(batch))
		}
		for _, h := range batch {
			if seen[h] {
				t.Fatalf("hash %s published twice", h)
			}
			seen[h] = true
		}
	}
	if len(seen) != 8000 {
		t.Fatalf("%d hashes published, want 8000", len(seen))
	}
}
