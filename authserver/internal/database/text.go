package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrInvalidText is a query argument that no column can hold: a string
// with a NUL byte or invalid UTF-8. PostgreSQL refuses such text (SQLSTATE
// 22021); SQLite would store it. Every query of DB checks its arguments
// first, so such text never reaches either, and the caller gets this error
// instead of a driver error. It is the client's mistake, answered with the
// protocol's 400, never a 503.
var ErrInvalidText = errors.New("database: text with a NUL byte or invalid UTF-8")

// ValidText reports whether s can be stored as text: valid UTF-8, no NUL.
func ValidText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// checkArgs returns ErrInvalidText when a text argument is not ValidText.
func checkArgs(op string, args []any) error {
	for _, a := range args {
		var s string
		switch v := a.(type) {
		case string:
			s = v
		case sql.NullString:
			s = v.String
		default:
			continue
		}
		if !ValidText(s) {
			return fmt.Errorf("database: %s: %w", op, ErrInvalidText)
		}
	}
	return nil
}

// GetContext is sqlx's GetContext, refusing invalid text (ErrInvalidText).
func (db *DB) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	if err := checkArgs("get", args); err != nil {
		return err
	}
	return db.DB.GetContext(ctx, dest, query, args...)
}

// SelectContext is sqlx's SelectContext, refusing invalid text
// (ErrInvalidText).
func (db *DB) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	if err := checkArgs("select", args); err != nil {
		return err
	}
	return db.DB.SelectContext(ctx, dest, query, args...)
}

// ExecContext is sqlx's ExecContext, refusing invalid text
// (ErrInvalidText).
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := checkArgs("exec", args); err != nil {
		return nil, err
	}
	return db.DB.ExecContext(ctx, query, args...)
}

// QueryxContext is sqlx's QueryxContext, refusing invalid text
// (ErrInvalidText).
func (db *DB) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	if err := checkArgs("query", args); err != nil {
		return nil, err
	}
	return db.DB.QueryxContext(ctx, query, args...)
}

// IsInvalidText reports whether err is text no column can hold: this
// package's ErrInvalidText, or PostgreSQL's own refusal (SQLSTATE 22021,
// character_not_in_repertoire) for a query that did not go through the
// checked methods above (QueryRowxContext, whose *sqlx.Row cannot carry
// ErrInvalidText, or a transaction). Callers answer it with a 400.
func IsInvalidText(err error) bool {
	var pe *pq.Error
	return errors.Is(err, ErrInvalidText) || errors.As(err, &pe) && pe.Code == "22021"
}
