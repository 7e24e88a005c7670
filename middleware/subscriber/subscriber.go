package subscriber

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// Cache is what Run needs of a verifier.
type Cache interface {
	Apply(revocation.Event)
	Purge()
}

var _ Cache = (*middleware.Verifier)(nil)

// Option tunes Run.
type Option func(*options)

type options struct {
	minBackoff, maxBackoff time.Duration
	healthEvery            time.Duration
	onSubscribed           func()
	onDropped              func(error)
}

// WithBackoff sets the bounds of the exponential back-off between
// resubscription attempts (default 100ms to 10s, with jitter).
func WithBackoff(lo, hi time.Duration) Option {
	return func(o *options) { o.minBackoff, o.maxBackoff = lo, hi }
}

// WithHealthCheck sets how long the subscription may stay silent before
// Run pings it; a ping left unanswered for as long again counts as a drop
// (default 15s).
func WithHealthCheck(d time.Duration) Option { return func(o *options) { o.healthEvery = d } }

// WithOnSubscribed calls f after each successful (re)subscription and the
// purge that follows it. f runs on Run's goroutine: keep it short.
func WithOnSubscribed(f func()) Option { return func(o *options) { o.onSubscribed = f } }

// WithOnDropped calls f with the reason each time the subscription is lost
// (after the cache was purged).
func WithOnDropped(f func(error)) Option { return func(o *options) { o.onDropped = f } }

// Run subscribes to channel (use revocation.Channel(prefix)) and applies
// each event to c until ctx ends, when it returns nil. Malformed payloads
// purge the cache (they may have been revocations). When the subscription
// fails or drops, Run purges c and resubscribes with back-off; it purges
// again right after each subscription succeeds, to cover the gap. Run logs
// with logger (nil: discard). It does not close rdb.
func Run(ctx context.Context, rdb redis.UniversalClient, channel string, c Cache, logger *slog.Logger, opts ...Option) error {
	o := options{minBackoff: 100 * time.Millisecond, maxBackoff: 10 * time.Second, healthEvery: 15 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	if o.minBackoff <= 0 || o.maxBackoff < o.minBackoff || o.healthEvery <= 0 {
		return errors.New("subscriber: run: bad options")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backoff := o.minBackoff
	for {
		err := session(ctx, rdb, channel, c, logger, &o, func() { backoff = o.minBackoff })
		if ctx.Err() != nil {
			stopped(ctx, logger, channel)
			return nil
		}
		c.Purge()
		logger.LogAttrs(ctx, slog.LevelWarn, "revocation subscription lost; cache purged",
			slog.String("channel", channel), slog.String("error", err.Error()))
		if o.onDropped != nil {
			o.onDropped(err)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, o.maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			stopped(ctx, logger, channel)
			return nil
		case <-t.C:
		}
	}
}

// stopped logs the deliberate end of Run: a stop is not a warning.
func stopped(ctx context.Context, logger *slog.Logger, channel string) {
	logger.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "revocation subscription stopped", slog.String("channel", channel))
}

// session runs one subscription until it fails; it always returns an error.
func session(ctx context.Context, rdb redis.UniversalClient, channel string, c Cache,
	logger *slog.Logger, o *options, subscribed func()) error {
	ps := rdb.Subscribe(ctx, channel)
	defer func() { _ = ps.Close() }()
	// A blocked read does not watch ctx: closing the PubSub ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	awaitingPong := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, o.healthEvery)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !awaitingPong {
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("subscriber: ping: %w", err)
				}
				awaitingPong = true
				continue
			}
			return fmt.Errorf("subscriber: receive: %w", err)
		}
		awaitingPong = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == channel {
				c.Purge()
				subscribed()
				logger.LogAttrs(ctx, slog.LevelInfo, "revocation subscription ready; cache purged",
					slog.String("channel", channel))
				if o.onSubscribed != nil {
					o.onSubscribed()
				}
			} else if m.Kind == "unsubscribe" {
				return errors.New("subscriber: unsubscribed by the server")
			}
		case *redis.Message:
			e, err := revocation.DecodeString(m.Payload)
			if err != nil {
				c.Purge()
				logger.LogAttrs(ctx, slog.LevelWarn, "malformed revocation event; cache purged",
					slog.String("channel", channel), slog.Int("bytes", len(m.Payload)))
				continue
			}
			c.Apply(e)
		case *redis.Pong:
		}
	}
}
