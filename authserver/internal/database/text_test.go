package database_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// TestInvalidTextNeverReachesTheDatabase: every checked query method
// refuses a NUL byte or invalid UTF-8 with ErrInvalidText, on both
// dialects (PostgreSQL would answer SQLSTATE 22021, SQLite would store it).
func TestInvalidTextNeverReachesTheDatabase(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := testenv.DB(t, b.URL)
			ctx := context.Background()
			q := db.Rebind("SELECT COUNT(*) FROM users WHERE email_key = ?")
			for _, bad := range []any{"a\x00b", "\xff\xfe", sql.NullString{String: "\x00", Valid: true}} {
				var n int
				if err := db.GetContext(ctx, &n, q, bad); !errors.Is(err, database.ErrInvalidText) || !database.IsInvalidText(err) {
					t.Fatalf("GetContext(%q): %v", bad, err)
				}
				if err := db.SelectContext(ctx, &[]int{}, q, bad); !errors.Is(err, database.ErrInvalidText) {
					t.Fatalf("SelectContext(%q): %v", bad, err)
				}
				if _, err := db.ExecContext(ctx, db.Rebind("UPDATE users SET email = ? WHERE id = 0"), bad); !errors.Is(err, database.ErrInvalidText) {
					t.Fatalf("ExecContext(%q): %v", bad, err)
				}
				if _, err := db.QueryxContext(ctx, q, bad); !errors.Is(err, database.ErrInvalidText) {
					t.Fatalf("QueryxContext(%q): %v", bad, err)
				}
			}
			var n int
			if err := db.GetContext(ctx, &n, q, "ünïcode@example.com"); err != nil || n != 0 {
				t.Fatalf("valid text: %d %v", n, err)
			}
		})
	}
}
