package servicetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// RaceTimeout bounds each wait of Race: for the warm-up successes, and for
// every loop to finish an attempt started after act returned.
const RaceTimeout = 30 * time.Second

// Race runs attempt in loops goroutines, each calling it again and again
// with its own index i, and calls act once (on the test's goroutine) as
// soon as warm attempts have succeeded. It stops the loops once every one
// of them has finished an attempt that it started after act returned, and
// returns the values of the successful attempts, and how many of those
// started after act returned: the ones that outran act. An attempt's
// error (a 5xx, a broken connection) fails the test once the loops have
// stopped, naming the first. A test that fails inside act stops the loops
// as it ends.
func Race[T any](t testing.TB, loops, warm int, attempt func(i int) (v T, ok bool, err error), act func()) (all []T, late int) {
	t.Helper()
	var (
		mu       sync.Mutex
		errs     []error
		returned atomic.Bool
		wins     atomic.Int64
		afterOne = make([]atomic.Bool, loops)
		wg       sync.WaitGroup
		stopOnce sync.Once
	)
	stopCh := make(chan struct{})
	stop := func() { stopOnce.Do(func() { close(stopCh); wg.Wait() }) }
	t.Cleanup(stop)
	for i := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopCh:
					return
				default:
				}
				after := returned.Load()
				v, ok, err := attempt(i)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case ok:
					all = append(all, v)
					if after {
						late++
					}
					wins.Add(1)
				}
				mu.Unlock()
				if after {
					afterOne[i].Store(true)
				}
			}
		}()
	}
	Eventually(t, RaceTimeout, "the first successful attempts", func() bool { return wins.Load() >= int64(warm) })
	act()
	returned.Store(true)
	Eventually(t, RaceTimeout, "every loop to finish an attempt started after the act returned", func() bool {
		for i := range afterOne {
			if !afterOne[i].Load() {
				return false
			}
		}
		return true
	})
	stop()
	if len(errs) > 0 {
		t.Fatalf("%d attempts failed; the first: %v", len(errs), errs[0])
	}
	return all, late
}
