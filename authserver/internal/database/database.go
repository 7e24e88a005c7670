package database

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DefaultSQLitePath is where the database lives when DATABASE_URL is unset.
const DefaultSQLitePath = "data/authserver.db"

//go:embed migrations
var migrations embed.FS

// ErrUnsupportedURL is returned by Open for a URL that is neither
// postgres://, postgresql:// nor sqlite:.
var ErrUnsupportedURL = errors.New("database: DATABASE_URL must start with postgres://, postgresql:// or sqlite")

// Dialect names the SQL flavour behind a DB.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is an sqlx handle that remembers its dialect.
type DB struct {
	*sqlx.DB
	Dialect Dialect
}

// Open connects to rawURL ("" means the SQLite default file) and checks the
// connection. It does not migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	driver, dsn, dialect, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	if dialect == SQLite {
		if err := os.MkdirAll(filepath.Dir(sqlitePath(dsn)), 0o700); err != nil {
			return nil, fmt.Errorf("database: create directory: %w", err)
		}
	}
	x, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("database: open: %w", err)
	}
	if dialect == SQLite {
		// One writer at a time is all SQLite allows; a small pool with a
		// busy timeout keeps concurrent requests from failing.
		x.SetMaxOpenConns(4)
	} else {
		x.SetMaxOpenConns(20)
		x.SetMaxIdleConns(20)
		x.SetConnMaxIdleTime(5 * time.Minute)
	}
	db := &DB{DB: x, Dialect: dialect}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := x.PingContext(pctx); err != nil {
		_ = x.Close()
		return nil, fmt.Errorf("database: connect to %s: %w", Redact(rawURL), err)
	}
	return db, nil
}

func parse(rawURL string) (driver, dsn string, d Dialect, err error) {
	switch {
	case rawURL == "":
		return "sqlite", sqliteDSN(DefaultSQLitePath), SQLite, nil
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return "postgres", rawURL, Postgres, nil
	case strings.HasPrefix(rawURL, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//")
		if p == "" {
			return "", "", "", ErrUnsupportedURL
		}
		return "sqlite", sqliteDSN(p), SQLite, nil
	}
	return "", "", "", ErrUnsupportedURL
}

func sqliteDSN(path string) string {
	if strings.Contains(path, "?") {
		return "file:" + path
	}
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_time_format=sqlite"
}

func sqlitePath(dsn string) string {
	p := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// Redact hides the password in a database URL, for logs and errors.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Migrate applies every pending migration of the DB's dialect.
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return fmt.Errorf("database: migrations: %w", err)
	}
	gd := goose.DialectPostgres
	if db.Dialect == SQLite {
		gd = goose.DialectSQLite3
	}
	var opts []goose.ProviderOption
	if db.Dialect == Postgres {
		// Replicas that start together (serve migrates first) take turns:
		// without a lock, all but one fail with "relation already exists".
		// The lock is per schema, so schemas sharing a database do not wait
		// for each other.
		var schema string
		if err := db.GetContext(ctx, &schema, "SELECT current_schema()"); err != nil {
			return fmt.Errorf("database: migrations: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("portcullis-migrate:" + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("database: migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db.DB.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("database: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("database: migrate: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either dialect.
func IsUniqueViolation(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsNoRows reports whether err means a query matched nothing.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
