package dotimport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
)

// querier is the Portcullis transaction, or its connection once the
// transaction has committed.
type querier interface {
	sqlx.QueryerContext
	Rebind(string) string
}

// batchSize is how many token rows are resolved and written together.
const batchSize = 500

// writers is how many pairs of a batch go to Redis at once.
const writers = 8

// tokenRow is one access token row, with its live refresh token if any,
// and what became of them.
type tokenRow struct {
	// Read from Django.
	id             int64
	access         sql.NullString
	accessExp      djTime
	accessCreated  djTime
	scope          sql.NullString
	userID         sql.NullInt64
	appID          sql.NullInt64
	refresh        sql.NullString
	refreshCreated djTime
	// Decided.
	accessLive bool // the access token has not expired
	write      bool // something of the row is live
	userKnown  bool // its user moved (or it has none)
	appOK      bool // its application moved
	pair       tokens.ImportedTokens
	created    bool
	err        error
}

// tokens moves the live tokens, in two passes. The first reads every
// access token with its live refresh token, if any: a live pair becomes a
// family whose next refresh rotates as usual; a live refresh token whose
// access token has expired becomes a family of its own. The second counts
// the refresh tokens the first did not, as revoked: those DOT revoked, and
// those whose access token DOT deleted (revoked alone: see
// revokedWithAccess). Tokens move only as hashes.
func (r *run) tokens(ctx context.Context, q querier) error {
	ac := Count{Table: TableAccess, tokens: true}
	rc := Count{Table: TableRefresh, tokens: true}
	now := time.Now()
	// Read before the users and applications are checked in the database
	// (writeTokens), so that a revocation here in between refuses the
	// import (grant.Checked).
	gen, err := r.Tokens.Generation(ctx)
	if err != nil {
		return fmt.Errorf("dotimport: tokens: %w", err)
	}
	checked := grant.Checked{User: gen, Client: gen}

	var batch []*tokenRow
	flush := func() error {
		if err := r.writeTokens(ctx, q, batch, checked); err != nil {
			return err
		}
		for _, t := range batch {
			countToken(t, &ac, &rc)
		}
		batch = batch[:0]
		return nil
	}
	err = r.stream(ctx, TableAccess,
		`SELECT a.id, a.token, a.expires, a.created, a.scope, a.user_id, a.application_id, r.token, r.created
		FROM `+tableAccess+` a LEFT JOIN `+tableRefresh+` r ON r.access_token_id = a.id AND r.revoked IS NULL ORDER BY a.id`,
		"SELECT COUNT(*) FROM "+tableAccess,
		func(rows *sqlx.Rows) error {
			t := &tokenRow{}
			if err := rows.Scan(&t.id, &t.access, &t.accessExp, &t.accessCreated, &t.scope, &t.userID, &t.appID, &t.refresh, &t.refreshCreated); err != nil {
				return fmt.Errorf("dotimport: access tokens: row: %w", err)
			}
			// One second of margin: Import keeps exp to the second.
			t.accessLive = t.accessExp.Valid && t.accessExp.Time.After(now.Add(time.Second))
			t.write = t.accessLive || t.refresh.Valid
			if batch = append(batch, t); len(batch) == batchSize {
				return flush()
			}
			return nil
		})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	err = r.stream(ctx, TableRefresh, revokedWithAccess, "SELECT COUNT(*) FROM "+tableRefresh,
		func(*sqlx.Rows) error {
			rc.Read++
			rc.Revoked++
			return nil
		})
	if err != nil {
		return err
	}
	r.done(ac)
	r.done(rc)
	return nil
}

// revokedWithAccess lists the refresh tokens that are revoked: those DOT
// marked revoked, and the live ones whose access token DOT deleted. DOT
// deletes an access token revoked alone (RFC 7009 at /o/revoke_token/, or
// the authorized-tokens page) and keeps its refresh token, which DOT 1.x
// and 2.x then cannot use (get_original_scopes finds no access token to
// take the scope from: a server error, DOT issues #585 and #839). DOT 3.0
// let it refresh, which its maintainers took for a bug (#1510) and fixed
// by revoking the refresh token with its access token (pull request
// #1772): the grant was ended on purpose. Moving it would bring back a
// grant that its user or client revoked, so it stays behind.
const revokedWithAccess = `SELECT r.id FROM ` + tableRefresh + ` r LEFT JOIN ` + tableAccess + ` a ON a.id = r.access_token_id
	WHERE a.id IS NULL OR r.revoked IS NOT NULL ORDER BY r.id`

// countToken adds one access token row's outcome to the counts.
func countToken(t *tokenRow, ac, rc *Count) {
	moved := t.write && t.userKnown && t.appOK
	outcome := func(c *Count) {
		switch {
		case !moved:
			c.Skipped++
		case t.created:
			c.Created++
		default:
			c.Unchanged++
		}
	}
	ac.Read++
	if t.accessLive {
		outcome(ac)
	} else {
		ac.Expired++
	}
	if t.refresh.Valid {
		rc.Read++
		outcome(rc)
	}
}

// writeTokens resolves a batch's users and applications through the id
// maps, then writes its live pairs, a few at a time. A token of an
// inactive user stays behind: Portcullis revokes a user's tokens when it
// deactivates them, and never checks a refresh token's user again.
func (r *run) writeTokens(ctx context.Context, q querier, batch []*tokenRow, checked grant.Checked) error {
	var userIDs, appIDs []int64
	for _, t := range batch {
		if !t.write {
			continue
		}
		if t.userID.Valid {
			userIDs = append(userIDs, t.userID.Int64)
		}
		if t.appID.Valid {
			appIDs = append(appIDs, t.appID.Int64)
		}
	}
	type user struct {
		id    int64
		email string
	}
	users := map[int64]user{}
	apps := map[int64]string{}
	if err := collectIn(ctx, q, `SELECT d.django_id, d.user_id, d.email FROM dot_users d JOIN users u ON u.id = d.user_id
		WHERE u.is_active AND d.django_id IN (?)`, userIDs,
		func(rows *sqlx.Rows) error {
			var k int64
			var u user
			err := rows.Scan(&k, &u.id, &u.email)
			users[k] = u
			return err
		}); err != nil {
		return fmt.Errorf("dotimport: tokens: %w", err)
	}
	if err := collectIn(ctx, q, "SELECT django_id, client_id FROM dot_apps WHERE django_id IN (?)", appIDs,
		func(rows *sqlx.Rows) error {
			var k int64
			var c string
			err := rows.Scan(&k, &c)
			apps[k] = c
			return err
		}); err != nil {
		return fmt.Errorf("dotimport: tokens: %w", err)
	}

	var wg sync.WaitGroup
	work := make(chan *tokenRow)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				t.created, t.err = r.importPair(ctx, t.pair)
			}
		}()
	}
	for _, t := range batch {
		if !t.write {
			continue
		}
		u, uok := users[t.userID.Int64]
		t.userKnown = uok || !t.userID.Valid
		t.pair.ClientID, t.appOK = apps[t.appID.Int64]
		if !t.userKnown || !t.appOK {
			r.warn(TableAccess, t.id, "its user is inactive or was not imported, or its application was not imported")
			continue
		}
		if !importableText(t.access.String) || t.refresh.Valid && !importableText(t.refresh.String) {
			t.write = false
			r.warn(TableAccess, t.id, "the token is not 1-255 printable ASCII characters")
			continue
		}
		t.pair.UserID, t.pair.Username, t.pair.Scope, t.pair.Checked = u.id, u.email, fields(t.scope.String), checked
		// An expired access token goes too when its refresh token lives:
		// it names the family, and is not stored.
		t.pair.AccessToken, t.pair.IssuedAt, t.pair.AccessExpiresAt = t.access.String, t.accessCreated.Time, t.accessExp.Time
		if t.refresh.Valid {
			t.pair.RefreshToken = t.refresh.String
		}
		work <- t
	}
	close(work)
	wg.Wait()
	for _, t := range batch {
		if t.err != nil {
			if errors.Is(t.err, grant.ErrRevoked) {
				r.warn(TableAccess, t.id, "its user or application was revoked here during the import")
				t.write = false
				continue
			}
			return fmt.Errorf("dotimport: tokens: %w", t.err)
		}
	}
	return nil
}

// importPair imports one pair unless it was imported before (its refresh
// token's alias, or its access token's, still lives: then it may have been
// rotated or revoked here, and must not come back), and reports whether it
// did (or, in a dry run, would).
func (r *run) importPair(ctx context.Context, p tokens.ImportedTokens) (created bool, err error) {
	key := p.AccessToken
	if p.RefreshToken != "" {
		key = p.RefreshToken
	}
	seen, err := r.Tokens.WasImported(ctx, key)
	if err != nil || seen || r.opt.DryRun {
		return !seen, err
	}
	return true, r.Tokens.Import(ctx, p)
}

// importableText reports whether a token can be imported: 1 to 255
// printable ASCII characters (DOT's are 30 letters and digits).
func importableText(tok string) bool {
	if tok == "" || len(tok) > 255 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return false
		}
	}
	return true
}
