package middleware

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Intervals between two log lines about the same kind of introspection
// failure; the lines in between are counted, not written.
const (
	credentialsLogEvery = time.Minute
	failureLogEvery     = 10 * time.Second
)

// checkKey is Check's singleflight key; token keys are 40 bytes long.
const checkKey = "check"

// Check asks the introspection endpoint about a random token that no
// server has issued, to learn whether the endpoint accepts this Verifier's
// own credentials. It returns nil when the endpoint answers with a JSON
// object, an error matching ErrCredentialsRejected (and ErrUnavailable)
// when it answers 401 or 403, and an error matching ErrUnavailable when it
// cannot be reached, fails, or asks the verifier to back off (429).
// Concurrent calls share one request, bounded by WithTimeout and ctx. It is
// safe for concurrent use and cheap enough for every readiness probe.
func (v *Verifier) Check(ctx context.Context) error {
	if v.now().UnixNano() < v.backoffUntil.Load() {
		return errBackoffEmpty
	}
	ch := v.sf.DoChan(checkKey, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.timeout)
		defer cancel()
		var b [32]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		_, err := v.introspect(cctx, "portcullis-check-"+base64.RawURLEncoding.EncodeToString(b[:]))
		if err != nil {
			v.logFailure(cctx, err)
		}
		return nil, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return fmt.Errorf("middleware: check: %w", r.Err)
		}
		return nil
	case <-ctx.Done():
		return &unavailableError{cause: fmt.Errorf("middleware: check: %w", ctx.Err())}
	}
}

// logFailure logs a failed introspection call, at most once per interval
// for each kind: a rejection of the verifier's own credentials is an
// ERROR (every request fails until someone fixes the configuration), any
// other failure a WARN. The lines left out are counted in "suppressed".
func (v *Verifier) logFailure(ctx context.Context, err error) {
	lim, level, msg := &v.failureLog, slog.LevelWarn, "introspection failed"
	if errors.Is(err, ErrCredentialsRejected) {
		lim, level = &v.credentialsLog, slog.LevelError
		msg = "introspection endpoint rejects this verifier's credentials: every request fails with 503 until they are fixed"
	}
	ok, suppressed := lim.allow(v.now())
	if !ok {
		return
	}
	v.logger.LogAttrs(ctx, level, msg,
		slog.String("endpoint", v.endpoint), slog.String("error", err.Error()), slog.Int64("suppressed", suppressed))
}

// logLimiter lets one event through per interval and counts the others.
// The zero value needs every set; it is safe for concurrent use.
type logLimiter struct {
	every      time.Duration
	next       atomic.Int64 // unix nano before which events are suppressed
	suppressed atomic.Int64
}

// allow reports whether an event at now may be logged, and how many were
// suppressed since the last one that was.
func (l *logLimiter) allow(now time.Time) (bool, int64) {
	n := l.next.Load()
	if now.UnixNano() < n || !l.next.CompareAndSwap(n, now.Add(l.every).UnixNano()) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}
