// Command resourceserver serves the tutorial's items API behind OAuth2 token
// introspection, plus the /users/... proxies to the auth server.
//
//	resourceserver serve     migrate, then serve on PORT until SIGINT/SIGTERM
//	resourceserver migrate   apply the database migrations and exit
//	resourceserver version   print the module version and VCS revision
//
// Configuration comes from the environment; see Config.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/subscriber"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/bff"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/database"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/httpapi"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/items"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/metrics"
	"github.com/portcullis-oauth/portcullis/resourceserver/internal/requestid"
	"github.com/portcullis-oauth/portcullis/shared/buildinfo"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `usage: resourceserver <command>

commands:
  serve     run the HTTP server on PORT (migrates first) until SIGINT or SIGTERM
  migrate   apply the database migrations to DATABASE_URL and exit
  version   print the module version and VCS revision

Configuration comes from environment variables (see the README).
`

// commandHelp is each command's -h text.
var commandHelp = map[string]string{
	"serve":   "usage: resourceserver serve\n\nrun the HTTP server on PORT, after applying the migrations, until SIGINT or SIGTERM\n",
	"migrate": "usage: resourceserver migrate\n\napply the database migrations to DATABASE_URL and exit\n",
	"version": "usage: resourceserver version\n\nprint the module version and VCS revision\n",
}

// cli is main without the process: it answers help and version itself,
// without reading the configuration, hands serve and migrate to run, and
// returns the exit code (2 for a usage problem).
func cli(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	switch help, known := commandHelp[cmd]; {
	case cmd == "-h" || cmd == "-help" || cmd == "--help" || cmd == "help":
		fmt.Fprint(stdout, usage)
		return 0
	case !known:
		fmt.Fprintf(stderr, "resourceserver: unknown command %q\n\n%s", cmd, usage)
		return 2
	case len(args) == 2 && (args[1] == "-h" || args[1] == "-help" || args[1] == "--help"):
		fmt.Fprint(stdout, help)
		return 0
	case len(args) > 1:
		fmt.Fprintf(stderr, "resourceserver %s: unexpected argument %q\n\n%s", cmd, args[1], help)
		return 2
	case cmd == "version":
		fmt.Fprintln(stdout, buildinfo.Describe("resourceserver"))
		return 0
	}
	if err := run(ctx, args, getenv, stderr, nil); err != nil {
		fmt.Fprintln(stderr, "resourceserver:", err)
		return 1
	}
	return 0
}

// run is main without the process: testable, and it returns instead of
// exiting. ready, if not nil, receives the listen address once serving.
func run(ctx context.Context, args []string, getenv func(string) string, logOut io.Writer, ready chan<- string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if len(args) > 1 {
		return fmt.Errorf("usage: resourceserver [serve|migrate]")
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	var log *slog.Logger
	if opts := (&slog.HandlerOptions{Level: cfg.LogLevel}); cfg.LogFormat == "text" {
		log = slog.New(slog.NewTextHandler(logOut, opts))
	} else {
		log = slog.New(slog.NewJSONHandler(logOut, opts))
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, ready)
	case "migrate":
		db, err := openDB(ctx, cfg, log)
		if err != nil {
			return err
		}
		return db.Close()
	default:
		return fmt.Errorf("unknown command %q; usage: resourceserver [serve|migrate]", cmd)
	}
}

func openDB(ctx context.Context, cfg Config, log *slog.Logger) (*database.DB, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	log.Info("database ready", "dialect", string(db.Dialect))
	return db, nil
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- string) error {
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	mx := metrics.New()
	opts := []middleware.Option{
		middleware.WithLogger(log),
		middleware.WithHooks(mx.Hooks()),
		middleware.WithRequestIDHeader(requestid.Header),
		middleware.WithMaxTTL(cfg.IntrospectionMaxTTL),
	}
	if cfg.IntrospectionToken != "" {
		opts = append(opts, middleware.WithBearerToken(cfg.IntrospectionToken))
	} else {
		opts = append(opts, middleware.WithClientCredentials(cfg.ClientID, cfg.ClientSecret))
	}
	verifier, err := middleware.New(cfg.IntrospectionURL, opts...)
	if err != nil {
		return fmt.Errorf("introspection: %w", err)
	}
	proxy, err := bff.New(bff.Config{
		AuthServerURL: cfg.AuthServerURL,
		ClientID:      cfg.ClientID,
		ClientSecret:  cfg.ClientSecret,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	handler := httpapi.New(httpapi.Deps{
		Verifier: verifier,
		Items:    items.NewHandler(items.NewSQLStore(db), log),
		BFF:      proxy,
		DB:       db,
		Logger:   log,
		Metrics:  mx,
	})

	// Revocation events, when there is a Redis to hear them from.
	subCtx, stopSub := context.WithCancel(context.WithoutCancel(ctx))
	var subDone sync.WaitGroup
	defer func() { stopSub(); subDone.Wait() }()
	if cfg.RedisURL != "" {
		rdb, err := subscriber.Dial(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		defer rdb.Close()
		channel := revocation.Channel(cfg.RedisPrefix)
		subDone.Go(func() {
			if err := subscriber.Run(subCtx, rdb, channel, verifier, log); err != nil {
				log.Error("revocation subscriber stopped", "err", err)
			}
		})
		log.Info("listening for revocations", "channel", channel)
	} else {
		log.Warn("REDIS_URL unset: revocations are not pushed; a revoked token stays valid until its cache entry expires",
			"max_ttl", cfg.IntrospectionMaxTTL.String())
	}

	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	addr := ln.Addr().String()
	log.Info("listening", "addr", addr, "auth_server", cfg.AuthServerURL, "introspection_url", cfg.IntrospectionURL)
	if ready != nil {
		ready <- addr
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	// Requests still in flight have been verified and no new one is
	// accepted, so revocation events have nothing left to protect: stop
	// listening now, before the auth server (and, under make run, the Redis
	// it embeds) may go away and the subscription would be reported lost.
	stopSub()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
