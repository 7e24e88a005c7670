package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/device"
	"github.com/portcullis-oauth/portcullis/authserver/internal/httpapi"
	"github.com/portcullis-oauth/portcullis/authserver/internal/lifecycle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/metrics"
	"github.com/portcullis-oauth/portcullis/authserver/internal/oauth"
	"github.com/portcullis-oauth/portcullis/authserver/internal/throttle"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

type pingFunc func(ctx context.Context) error

// The token store implements the interfaces the protocol and the lifecycle
// declare; web and httpapi reach it only through them.
var (
	_ oauth.TokenStore     = (*tokens.Store)(nil)
	_ oauth.CodeStore      = (*tokens.Store)(nil)
	_ lifecycle.TokenStore = (*tokens.Store)(nil)
)

// cleanupQueue is how many revocation index walks may wait; more are
// dropped and logged (their index entries expire with their buckets).
const cleanupQueue = 1024

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

// serve runs the HTTP server until ctx is cancelled (SIGINT, SIGTERM), then
// drains in-flight requests for up to SHUTDOWN_TIMEOUT.
func serve(ctx context.Context, cfg config) error {
	log := cfg.logger()
	a, rc, release, err := openStores(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer release()

	mx := metrics.New()
	rdb := rc.rdb
	limiter := throttle.New(rdb, cfg.RedisPrefix, cfg.ThrottleLimit, cfg.ThrottleWindow)
	store := tokens.New(rc.tokens, cfg.RedisPrefix, tokens.Lifetimes{Access: cfg.AccessTTL, Refresh: cfg.RefreshTTL})
	store.SetReuseGrace(cfg.RefreshReuseGrace)
	store.ObserveRevocations(mx.Revoked)
	// Clients read from the database carry the revocation generation read
	// before, and client events from other replicas reach the registry.
	a.clients.CheckGenerations(store)
	store.WatchClients(a.clients)
	if cfg.TokenCacheTTL > 0 {
		store.CacheAccessTokens(cfg.TokenCacheSize, cfg.TokenCacheTTL)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go store.WatchRevocations(watchCtx, log)
	// User- and client-wide revocations walk their indexes in the
	// background: the epoch bump is the guarantee, the walk is cleanup.
	go store.RunCleanup(watchCtx, cleanupQueue, log)
	life := lifecycle.New(store, a.clients)
	oid, err := openID(ctx, cfg, a, rdb, log)
	if err != nil {
		return err
	}
	oauthDeps := oauth.Deps{
		Clients:  a.clients,
		Users:    a.accounts,
		Finder:   a.accounts.Store(),
		Tokens:   store,
		Throttle: limiter,
		Log:      log,
		Codes:    store,
		Lookup:   a.clients,
		Metrics:  mx,
	}
	devices := device.NewStore(rdb, cfg.RedisPrefix, cfg.DeviceCodeTTL, cfg.DeviceInterval)
	oauthDeps.Devices = devices
	oid.protocol(&oauthDeps)
	srvOAuth := oauth.NewServer(oauth.Config{Scopes: cfg.Scopes, DefaultScopes: cfg.DefaultScopes}, oauthDeps)
	pages, err := newPages(ctx, cfg, a, rdb, life, store, srvOAuth, limiter, devices, oid.keyring(), log)
	if err != nil {
		return err
	}
	apiDeps := httpapi.Deps{
		Metrics:   mx,
		Accounts:  a.accounts,
		OAuth:     srvOAuth,
		Lifecycle: life,
		Throttle:  limiter,
		Issuer:    cfg.issuer(),
		Pages:     pages,
		Ready: map[string]httpapi.Pinger{
			"database": pingFunc(a.db.PingContext),
			"redis":    rc.ready,
		},
		Log: log,
	}
	oid.routes(cfg, &apiDeps)
	engine := httpapi.New(apiDeps)
	if err := engine.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           engine,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	port := ln.Addr().(*net.TCPAddr).Port
	log.Info("authserver listening", "addr", ln.Addr().String(), "port", port, "database", string(a.db.Dialect))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// The last rotations' events go out even when draining fails.
	defer store.FlushRotations()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
