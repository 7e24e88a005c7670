package servicetest

import (
	"sync"
	"testing"
	"time"
)

// Repeat calls f on a goroutine of its own, again and again (every apart,
// or back to back when every is 0), until f returns false or stop is
// called. stop waits for the call in progress to end; it also runs when
// the test ends, and may be called more than once.
func Repeat(t testing.TB, every time.Duration, f func() bool) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var tick <-chan time.Time
		if every > 0 {
			ticker := time.NewTicker(every)
			defer ticker.Stop()
			tick = ticker.C
		}
		for {
			select {
			case <-quit:
				return
			default:
			}
			if tick != nil {
				select {
				case <-quit:
					return
				case <-tick:
				}
			}
			if !f() {
				return
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(quit); <-done }) }
	t.Cleanup(stop)
	return stop
}
