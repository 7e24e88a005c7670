package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/dotimport"
	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

var (
	_ dotimport.TokenStore   = (*tokens.Store)(nil)
	_ dotimport.Secrets      = (*clients.Registry)(nil)
	_ dotimport.HashVerifier = (*passwords.Hasher)(nil)
)

const importDOTSummary = `copy a Django OAuth Toolkit deployment into this server's database
(DATABASE_URL) and Redis (REDIS_URL, required): users with their password
hashes, groups and memberships, applications with their secrets, and the
live access and refresh tokens (as hashes). Run it again to add and update
what changed since; it never duplicates anything. One summary line per
table goes to stdout; progress goes to stderr on a terminal.`

// importDOT is the import-dot subcommand.
func importDOT(ctx context.Context, load func() (config, error), args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import-dot", flag.ContinueOnError)
	from := fs.String("from", "", "the Django database: postgres://… or sqlite:PATH, opened read only (required)")
	dry := fs.Bool("dry-run", false, "print what would change, table by table; write nothing")
	userTable := fs.String("user-table", "", "the Django user table, when not users_customuser or auth_user, or when both exist")
	if err := parseFlags(fs, importDOTSummary, args, stdout, stderr); err != nil {
		return err
	}
	if *from == "" {
		return badUsage(stderr, "import-dot", errors.New("missing --from (see import-dot -h)"))
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return errors.New("import-dot: REDIS_URL is not set: the tokens must go to the Redis the server uses (the embedded one ends with this command)")
	}
	srcURL, err := readOnlySource(*from)
	if err != nil {
		return err
	}
	src, err := database.Open(ctx, srcURL)
	if err != nil {
		return fmt.Errorf("import-dot: cannot open the Django database (--from): %w", err)
	}
	defer src.Close()

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(cfg.LogLevel, slog.LevelWarn)}))
	cfg.LogLevel = slog.LevelWarn
	a, rc, release, err := openStores(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer release()
	if err := rc.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("import-dot: Redis (REDIS_URL) does not answer: %w", err)
	}
	store := tokens.New(rc.tokens, cfg.RedisPrefix, tokens.Lifetimes{Access: cfg.AccessTTL, Refresh: cfg.RefreshTTL})

	opt := dotimport.Options{UserTable: *userTable, DryRun: *dry, Out: stdout}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opt.Progress = stderr
	}
	im := &dotimport.Importer{Source: src, Target: a.db, Tokens: store, Secrets: a.clients, Hashes: a.hasher, Log: log}
	if _, err := im.Run(ctx, opt); err != nil {
		return fmt.Errorf("import-dot: %w", err)
	}
	return nil
}

// readOnlySource opens a SQLite source read only, and refuses a file that
// does not exist (rather than creating an empty one).
func readOnlySource(from string) (string, error) {
	path, ok := strings.CutPrefix(from, "sqlite:")
	if !ok {
		return from, nil
	}
	path = strings.TrimPrefix(path, "//")
	file, _, _ := strings.Cut(path, "?")
	if _, err := os.Stat(file); err != nil {
		return "", fmt.Errorf("import-dot: the Django database %s: %w", from, err)
	}
	if strings.Contains(path, "?") {
		return from, nil
	}
	return "sqlite:" + path + "?mode=ro&_pragma=busy_timeout(10000)&_time_format=sqlite", nil
}
