package dotimport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// TokenStore stores imported tokens; *tokens.Store implements it.
type TokenStore interface {
	// Generation is read before the tokens' users and clients are
	// checked in the database (see grant.Checked).
	Generation(ctx context.Context) (int64, error)
	// WasImported reports whether a token was imported before (and may
	// since have been rotated or revoked here).
	WasImported(ctx context.Context, token string) (bool, error)
	// Import stores an access token and its refresh token, if any.
	Import(ctx context.Context, t tokens.ImportedTokens) error
	// RevokeUser revokes every token of a user, for one deactivated in
	// Django since the last run.
	RevokeUser(ctx context.Context, userID int64, keep string, reason revocation.Reason) error
}

// Secrets hashes and checks client secrets; *clients.Registry implements it.
type Secrets interface {
	HashSecret(secret string, generated bool) (string, error)
	VerifySecret(c clients.Client, secret string) bool
}

// HashVerifier recognises Django's password hashes; *passwords.Hasher
// implements it.
type HashVerifier interface {
	Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error)
}

// Importer copies a Django OAuth Toolkit database into Portcullis's stores.
type Importer struct {
	Source  *database.DB // the Django database, only read
	Target  *database.DB // Portcullis's database
	Tokens  TokenStore
	Secrets Secrets
	Hashes  HashVerifier
	Log     *slog.Logger // warnings: rows that cannot move, and why
}

// Options of one run.
type Options struct {
	UserTable string    // the Django user table; "" finds it
	DryRun    bool      // count what would change, write nothing
	Out       io.Writer // one summary line per table
	Progress  io.Writer // rows per table with a bar; nil for none
}

// Count is what one table's import did (or, in a dry run, would do).
type Count struct {
	Table     string
	Read      int
	Created   int
	Updated   int
	Unchanged int
	Skipped   int // cannot move (see the warnings)
	Expired   int // tokens only
	Revoked   int // refresh tokens only: revoked in DOT, or whose access token DOT deleted
	tokens    bool
}

// String is the summary line: "users: read=3 created=1 updated=0
// unchanged=2 skipped=0", and expired= (and revoked=) for tokens.
func (c Count) String() string {
	s := fmt.Sprintf("%s: read=%d created=%d updated=%d unchanged=%d skipped=%d", c.Table, c.Read, c.Created, c.Updated, c.Unchanged, c.Skipped)
	if c.tokens {
		s += fmt.Sprintf(" expired=%d revoked=%d", c.Expired, c.Revoked)
	}
	return s
}

// The tables of the summary, in order.
const (
	TableUsers       = "users"
	TableGroups      = "groups"
	TableMemberships = "memberships"
	TableApps        = "applications"
	TableAccess      = "access_tokens"
	TableRefresh     = "refresh_tokens"
)

// run is the state of one Run.
type run struct {
	*Importer
	opt     Options
	sc      schema
	src     *sqlx.Tx   // the Django database, one snapshot
	conn    *sqlx.Conn // the Portcullis connection holding the id maps
	tx      *sqlx.Tx   // the Portcullis transaction
	counts  []Count
	printed int // how many of counts are on opt.Out
	// deactivated are the users this run made inactive; their tokens
	// are revoked once the transaction has committed.
	deactivated []int64
	dryNote     string
}

// Run imports everything, or nothing when the schema is not recognised
// (ErrSchema, naming the missing table or column). Users, groups,
// memberships and applications are written in one transaction; the tokens
// follow once it has committed, each pair idempotently, so a run stopped
// half way is finished by the next. It returns the counts of each table,
// also printed to opt.Out once what they count is written (at the end,
// in a dry run).
func (im *Importer) Run(ctx context.Context, opt Options) ([]Count, error) {
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	sc, err := inspect(ctx, im.Source, opt.UserTable)
	if err != nil {
		return nil, err
	}
	r := &run{Importer: im, opt: opt, sc: sc}
	if opt.DryRun {
		r.dryNote = " (dry run: nothing written)"
	}
	srcOpts := &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	if im.Source.Dialect == database.SQLite {
		srcOpts = nil // one read transaction is a snapshot already
	}
	if r.src, err = im.Source.BeginTxx(ctx, srcOpts); err != nil {
		return nil, fmt.Errorf("dotimport: read the Django database: %w", err)
	}
	defer func() { _ = r.src.Rollback() }()

	if r.conn, err = im.Target.Connx(ctx); err != nil {
		return nil, fmt.Errorf("dotimport: open the Portcullis database: %w", err)
	}
	defer r.conn.Close()
	if err := r.createMaps(ctx); err != nil {
		return nil, err
	}
	defer r.dropMaps()

	if r.tx, err = r.conn.BeginTxx(ctx, nil); err != nil {
		return nil, fmt.Errorf("dotimport: begin: %w", err)
	}
	defer func() { _ = r.tx.Rollback() }()
	for _, step := range []func(context.Context) error{r.users, r.groups, r.memberships, r.applications} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	var q querier = r.tx
	if !opt.DryRun {
		if err := r.tx.Commit(); err != nil {
			return nil, fmt.Errorf("dotimport: commit: %w", err)
		}
		r.print() // only once what they count is written
		q = r.conn
		for _, id := range r.deactivated {
			if err := r.Tokens.RevokeUser(ctx, id, "", revocation.ReasonDeactivated); err != nil {
				return nil, fmt.Errorf("dotimport: revoke the tokens of deactivated user %d: %w", id, err)
			}
			if r.Log != nil {
				r.Log.Warn("dotimport: user deactivated in Django: its tokens are revoked", "user_id", id)
			}
		}
	}
	if err := r.tokens(ctx, q); err != nil {
		return nil, err
	}
	r.print()
	return r.counts, nil
}

// done records a table's count.
func (r *run) done(c Count) { r.counts = append(r.counts, c) }

// print prints the summary lines not printed yet.
func (r *run) print() {
	for ; r.printed < len(r.counts); r.printed++ {
		fmt.Fprintln(r.opt.Out, r.counts[r.printed].String()+r.dryNote)
	}
}

// warn logs a row that cannot move. Never a secret, a token or a hash.
func (r *run) warn(table string, id int64, why string) {
	if r.Log != nil {
		r.Log.Warn("dotimport: row not imported", "table", table, "django_id", id, "reason", why)
	}
}

// The id maps: Django id → Portcullis row, kept in temporary tables on the
// run's connection, so that memory stays flat however many rows there are.
var mapTables = []string{
	"CREATE TEMPORARY TABLE dot_users (django_id BIGINT PRIMARY KEY, email_key TEXT NOT NULL UNIQUE, email TEXT NOT NULL, user_id BIGINT NULL)",
	"CREATE TEMPORARY TABLE dot_groups (django_id BIGINT PRIMARY KEY, group_id BIGINT NOT NULL)",
	"CREATE TEMPORARY TABLE dot_apps (django_id BIGINT PRIMARY KEY, client_id TEXT NOT NULL)",
}

func (r *run) createMaps(ctx context.Context) error {
	r.dropMaps()
	for _, q := range mapTables {
		if _, err := r.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("dotimport: id maps: %w", err)
		}
	}
	return nil
}

func (r *run) dropMaps() {
	for _, t := range []string{"dot_users", "dot_groups", "dot_apps"} {
		_, _ = r.conn.ExecContext(context.WithoutCancel(context.Background()), "DROP TABLE IF EXISTS "+t)
	}
}

// stream runs query on the Django snapshot and calls row for each row, in
// order, reporting progress against the table's row count.
func (r *run) stream(ctx context.Context, label, query, countQuery string, row func(*sqlx.Rows) error) error {
	var bar *progress
	if r.opt.Progress != nil {
		var total int64
		if err := r.src.GetContext(ctx, &total, countQuery); err != nil {
			return fmt.Errorf("dotimport: %s: count: %w", label, err)
		}
		bar = newProgress(r.opt.Progress, label, total)
		defer bar.finish()
	}
	rows, err := r.src.QueryxContext(ctx, query)
	if err != nil {
		return fmt.Errorf("dotimport: %s: read: %w", label, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
		bar.add(1)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dotimport: %s: read: %w", label, err)
	}
	return nil
}

// affected is RowsAffected of an exec.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// isNoRows reports whether err means a query matched nothing.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// fields joins the space-separated words of s with single spaces.
func fields(s string) string { return strings.Join(strings.Fields(s), " ") }
