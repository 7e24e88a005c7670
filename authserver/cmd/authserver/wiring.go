package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
)

// app is the set of long-lived parts every subcommand shares.
type app struct {
	cfg      config
	log      *slog.Logger
	db       *database.DB
	hasher   *passwords.Hasher
	accounts *accounts.Service
	clients  *clients.Registry
}

// openApp opens and migrates the database and builds the account and client
// services. The caller closes app.db.
func openApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	hasher, err := passwords.NewHasher(cfg.Argon, passwords.WithQueue(cfg.PasswordQueue))
	if err != nil {
		return nil, fmt.Errorf("password hashing: %w", err)
	}
	db, err := openMigrated(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &app{
		cfg:      cfg,
		log:      log,
		db:       db,
		hasher:   hasher,
		accounts: accounts.NewService(accounts.NewStore(db), hasher, passwords.Validate, log),
		clients:  clients.NewRegistry(clients.NewStore(db), hasher, cfg.ClientCacheTTL),
	}, nil
}

// openMigrated opens DATABASE_URL and applies the migrations; the caller
// closes the database.
func openMigrated(ctx context.Context, cfg config) (*database.DB, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func migrate(ctx context.Context, cfg config, stdout io.Writer) error {
	db, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "Migrations applied (%s).\n", db.Dialect)
	return nil
}

// openStores opens what serve and import-dot both need: the database (as
// openApp) and Redis (as openRedis). release closes Redis, then the
// database.
func openStores(ctx context.Context, cfg config, log *slog.Logger) (*app, redisClients, func(), error) {
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return nil, redisClients{}, nil, err
	}
	rc, closeRedis, err := openRedis(ctx, cfg, log)
	if err != nil {
		_ = a.db.Close()
		return nil, redisClients{}, nil, err
	}
	return a, rc, func() { closeRedis(); _ = a.db.Close() }, nil
}
