package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/sessions"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/authserver/internal/web"
)

// pagesConfig is the browser pages' configuration, read from the
// environment:
//
//	SESSION_COOKIE_SECURE   default false; true sends the session cookie only over HTTPS
//	SESSION_IDLE_TIMEOUT    default 1h; a session unused this long ends
//	SESSION_MAX_AGE         default 12h; a session ends this long after login, used or not
type pagesConfig struct {
	secure       bool
	idle, maxAge time.Duration
}

func loadPagesConfig(getenv func(string) string) (pagesConfig, error) {
	pc := pagesConfig{idle: time.Hour, maxAge: 12 * time.Hour}
	if v := getenv("SESSION_COOKIE_SECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return pc, fmt.Errorf("SESSION_COOKIE_SECURE=%q: want true or false", v)
		}
		pc.secure = b
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"SESSION_IDLE_TIMEOUT", &pc.idle}, {"SESSION_MAX_AGE", &pc.maxAge}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < time.Minute {
				return pc, fmt.Errorf("%s=%q: want a duration of at least 1m", d.name, v)
			}
			*d.dst = x
		}
	}
	return pc, nil
}

// pagesKey returns the key that signs pre-login CSRF cookies, shared by
// every replica through Redis (made by the first replica to start). When
// Redis cannot be reached at start, a per-process key is used (logged).
func pagesKey(ctx context.Context, rdb redis.UniversalClient, prefix string) ([]byte, error) {
	k := prefix + "web:key"
	if err := rdb.SetNX(ctx, k, sessions.Random(32), 0).Err(); err != nil {
		return nil, fmt.Errorf("web key: %w", err)
	}
	v, err := rdb.Get(ctx, k).Result()
	if err != nil {
		return nil, fmt.Errorf("web key: %w", err)
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("web key in Redis (%s) is malformed", k)
	}
	return b, nil
}

// newPages builds the HTML pages (login, consent, applications, admin).
func newPages(ctx context.Context, cfg config, a *app, rdb redis.UniversalClient, store *tokens.Store, srv *oauth.Server, log *slog.Logger) (*web.Handler, error) {
	pc, err := loadPagesConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	key, err := pagesKey(ctx, rdb, cfg.RedisPrefix)
	if err != nil {
		log.Warn("web pages: no shared key in Redis; using a per-process key (pre-login forms of other replicas will be refused)", "error", err)
		key, _ = base64.RawURLEncoding.DecodeString(sessions.Random(32))
	}
	return web.New(web.Deps{
		Accounts:      a.accounts,
		Clients:       a.clients,
		OAuth:         srv,
		Tokens:        store,
		Sessions:      sessions.New(rdb, cfg.RedisPrefix, pc.idle, pc.maxAge),
		Throttle:      throttle.New(rdb, cfg.RedisPrefix, cfg.ThrottleLimit, cfg.ThrottleWindow),
		Key:           key,
		SecureCookies: pc.secure,
		Log:           log,
	})
}
