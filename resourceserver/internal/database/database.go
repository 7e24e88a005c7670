package database

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DefaultSQLitePath is where the database lives when DATABASE_URL is unset.
const DefaultSQLitePath = "data/resourceserver.db"

//go:embed migrations
var migrations embed.FS

// ErrUnsupportedURL is returned by Open for a URL that is neither
// postgres://, postgresql:// nor sqlite:<path>.
var ErrUnsupportedURL = errors.New("database: DATABASE_URL must be postgres://..., postgresql://... or sqlite:<path>")

// Dialect names the SQL flavour behind a DB.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

func init() {
	// sqlx does not know modernc's driver name; without this Rebind would
	// leave ? placeholders alone, which is right, but say so explicitly.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// DB is an sqlx handle that remembers its dialect. Safe for concurrent use.
type DB struct {
	*sqlx.DB
	Dialect Dialect
}

// CheckURL reports ErrUnsupportedURL for a DATABASE_URL that Open would
// reject, without connecting. "" is valid (the SQLite default).
func CheckURL(rawURL string) error {
	_, _, _, err := parse(rawURL)
	return err
}

// Open connects to rawURL ("" means the SQLite default file, whose directory
// it creates) and pings it. It does not migrate.
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
		// SQLite allows one writer at a time; a small pool plus the busy
		// timeout in the DSN keeps concurrent requests waiting, not failing.
		x.SetMaxOpenConns(4)
	} else {
		x.SetMaxOpenConns(20)
		x.SetMaxIdleConns(20)
		x.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := x.PingContext(pctx); err != nil {
		_ = x.Close()
		return nil, fmt.Errorf("database: connect to %s: %w", Redact(rawURL), err)
	}
	return &DB{DB: x, Dialect: dialect}, nil
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
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
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

// Migrate applies every pending migration of the DB's dialect. It is safe to
// run concurrently from several processes on PostgreSQL (goose takes a lock).
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return fmt.Errorf("database: migrations: %w", err)
	}
	gd := goose.DialectPostgres
	if db.Dialect == SQLite {
		gd = goose.DialectSQLite3
	}
	p, err := goose.NewProvider(gd, db.DB.DB, sub)
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
