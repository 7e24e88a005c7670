package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"strings"

	redis "github.com/redis/rueidis/rueidiscompat"

	"github.com/portcullis-oauth/portcullis/authserver/internal/audit"
	"github.com/portcullis-oauth/portcullis/authserver/internal/device"
	"github.com/portcullis-oauth/portcullis/authserver/internal/lifecycle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/mail"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/resets"
	"github.com/portcullis-oauth/portcullis/authserver/internal/sessions"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/web"
)

// pagesKey returns the key that signs pre-login CSRF cookies, shared by
// every replica through Redis (made by the first replica to start). When
// Redis cannot be reached at start, a per-process key is used (logged).
func pagesKey(ctx context.Context, rdb redis.Cmdable, prefix string) ([]byte, error) {
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
func newPages(ctx context.Context, cfg config, a *app, rdb redis.Cmdable, life *lifecycle.Service, counter web.TokenCounter, srv *oauth.Server,
	limiter *throttle.Limiter, devices *device.Store, keys *signing.Keyring, log *slog.Logger) (*web.Handler, error) {
	key, err := pagesKey(ctx, rdb, cfg.RedisPrefix)
	if err != nil {
		log.Warn("web pages: no shared key in Redis; using a per-process key (pre-login forms of other replicas will be refused)", "error", err)
		key, _ = base64.RawURLEncoding.DecodeString(sessions.Random(32))
	}
	var mailer web.Mailer
	switch m, err := mail.New(cfg.SMTPURL, cfg.MailFrom, os.Stderr); {
	case err != nil:
		return nil, err
	case cfg.SMTPURL != "":
		mailer = m
	case strings.HasPrefix(cfg.issuer(), "https://"):
		// A public server without SMTP_URL: no reset links in its logs.
		log.Warn("SMTP_URL is unset: password reset by e-mail is off")
	default:
		// Local development (make run): the password reset e-mail, link
		// and all, is written to stderr. This is the one place a reset
		// token reaches a log, on purpose; production sets SMTP_URL.
		log.Warn("SMTP_URL is unset: e-mail (password reset links included) is written to stderr instead of being sent; set SMTP_URL in production")
		mailer = m
	}
	return web.New(web.Deps{
		Mail:          mailer,
		Resets:        resets.New(rdb, cfg.RedisPrefix, cfg.ResetTTL),
		BaseURL:       cfg.issuer(),
		Accounts:      a.accounts,
		Clients:       a.clients,
		OAuth:         srv,
		Lifecycle:     life,
		Counter:       counter,
		Audit:         audit.New(a.db),
		Sessions:      sessions.New(rdb, cfg.RedisPrefix, cfg.SessionIdle, cfg.SessionMaxAge),
		Throttle:      limiter,
		Device:        devices,
		Keys:          keys,
		Key:           key,
		SecureCookies: cfg.SessionSecure,
		Log:           log,
	})
}
