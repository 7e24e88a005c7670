package dotimport

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// djUser is one row of the Django user table.
type djUser struct {
	id                      int64
	password, email         sql.NullString
	active, staff, superusr bool
	joined, last            djTime
	key                     string // accounts.EmailKey of email
}

// users copies the user table, batchSize rows at a time. A user is matched
// by email, in any letter case (Portcullis's key); of several Django rows
// with one email only the first (lowest id) moves, so that no account
// takes over another's password or tokens. The password hash is copied as
// is (Portcullis verifies Django's formats and upgrades them at the next
// login; an unusable "!…" stays unusable), except over an argon2id hash
// Portcullis already made, which is newer than anything Django holds.
func (r *run) users(ctx context.Context) error {
	c := Count{Table: TableUsers}
	t := quote(r.sc.users)
	var batch []djUser
	err := r.stream(ctx, TableUsers,
		"SELECT id, password, email, is_active, is_staff, is_superuser, date_joined, last_login FROM "+t+" ORDER BY id",
		"SELECT COUNT(*) FROM "+t,
		func(rows *sqlx.Rows) error {
			c.Read++
			var u djUser
			if err := rows.Scan(&u.id, &u.password, &u.email, &u.active, &u.staff, &u.superusr, &u.joined, &u.last); err != nil {
				return fmt.Errorf("dotimport: users: row: %w", err)
			}
			u.email.String = accounts.NormalizeEmail(u.email.String)
			if !strings.Contains(u.email.String, "@") {
				c.Skipped++
				r.warn(TableUsers, u.id, "no email: Portcullis signs users in by email")
				return nil
			}
			if !database.ValidText(u.email.String) || !database.ValidText(u.password.String) {
				c.Skipped++
				r.warn(TableUsers, u.id, "its email or password hash is not valid UTF-8 text")
				return nil
			}
			u.key = accounts.EmailKey(u.email.String)
			if !u.joined.Valid {
				u.joined = djTime{Time: time.Now().UTC(), Valid: true}
			}
			if batch = append(batch, u); len(batch) == batchSize {
				err := r.userBatch(ctx, batch, &c)
				batch = batch[:0]
				return err
			}
			return nil
		})
	if err == nil && len(batch) > 0 {
		err = r.userBatch(ctx, batch, &c)
	}
	if err != nil {
		return err
	}
	r.done(c)
	return nil
}

// curUser is a user already in Portcullis.
type curUser struct {
	ID          int64        `db:"id"`
	EmailKey    string       `db:"email_key"`
	Password    string       `db:"password"`
	IsActive    bool         `db:"is_active"`
	IsStaff     bool         `db:"is_staff"`
	IsSuperuser bool         `db:"is_superuser"`
	DateJoined  time.Time    `db:"date_joined"`
	LastLogin   sql.NullTime `db:"last_login"`
}

// userBatch writes one batch of users in four statements, plus one per
// changed user: claim the emails in the id map (the lowest id wins), read
// the users that exist, insert the new ones, map the Django ids.
func (r *run) userBatch(ctx context.Context, batch []djUser, c *Count) error {
	tx := r.tx
	fail := func(err error) error { return fmt.Errorf("dotimport: users: %w", err) }

	var q strings.Builder
	args := make([]any, 0, 3*len(batch))
	q.WriteString("INSERT INTO dot_users (django_id, email_key, email) VALUES ")
	for i, u := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, u.id, u.key, u.email.String)
	}
	q.WriteString(" ON CONFLICT DO NOTHING RETURNING django_id")
	claimed := map[int64]bool{}
	if err := collect(ctx, tx, q.String(), args, func(rows *sqlx.Rows) error {
		var id int64
		err := rows.Scan(&id)
		claimed[id] = true
		return err
	}); err != nil {
		return fail(err)
	}

	keys := make([]string, 0, len(batch))
	ids := make([]int64, 0, len(batch))
	for _, u := range batch {
		if claimed[u.id] {
			keys = append(keys, u.key)
			ids = append(ids, u.id)
		}
	}
	existing := map[string]curUser{}
	if err := collectIn(ctx, tx, `SELECT id, email_key, password, is_active, is_staff, is_superuser, date_joined, last_login
		FROM users WHERE email_key IN (?)`, keys, func(rows *sqlx.Rows) error {
		var cu curUser
		err := rows.StructScan(&cu)
		existing[cu.EmailKey] = cu
		return err
	}); err != nil {
		return fail(err)
	}

	q.Reset()
	args = args[:0]
	q.WriteString("INSERT INTO users (email, email_key, password, is_active, is_staff, is_superuser, date_joined, last_login) VALUES ")
	inserts := 0
	for _, u := range batch {
		if !claimed[u.id] {
			c.Skipped++
			r.warn(TableUsers, u.id, "another Django user with a lower id has the same email (in some letter case)")
			continue
		}
		cur, found := existing[u.key]
		if !found {
			if inserts > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, u.email.String, u.key, u.password.String, u.active, u.staff, u.superusr, u.joined.Time, u.last.null())
			inserts++
			continue
		}
		pw := u.password.String
		if strings.HasPrefix(cur.Password, "$argon2id$") {
			pw = cur.Password
		}
		last := u.last.null()
		if cur.LastLogin.Valid && (!last.Valid || cur.LastLogin.Time.After(last.Time)) {
			last = cur.LastLogin
		}
		if pw == cur.Password && u.active == cur.IsActive && u.staff == cur.IsStaff && u.superusr == cur.IsSuperuser &&
			u.joined.Time.Equal(cur.DateJoined) && last.Valid == cur.LastLogin.Valid && last.Time.Equal(cur.LastLogin.Time) {
			c.Unchanged++
			continue
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET password = ?, is_active = ?, is_staff = ?, is_superuser = ?,
			date_joined = ?, last_login = ? WHERE id = ?`), pw, u.active, u.staff, u.superusr, u.joined.Time, last, cur.ID); err != nil {
			return fail(err)
		}
		if cur.IsActive && !u.active {
			r.deactivated = append(r.deactivated, cur.ID)
		}
		c.Updated++
	}
	if inserts > 0 {
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return fail(err)
		}
		c.Created += inserts
	}
	if len(ids) == 0 {
		return nil
	}
	query, inArgs, err := sqlx.In(`UPDATE dot_users SET user_id = (SELECT u.id FROM users u WHERE u.email_key = dot_users.email_key)
		WHERE django_id IN (?)`, ids)
	if err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(query), inArgs...); err != nil {
		return fail(err)
	}
	return nil
}

// collect runs query (with ? placeholders) and calls row for each result.
func collect(ctx context.Context, q querier, query string, args []any, row func(*sqlx.Rows) error) error {
	rows, err := q.QueryxContext(ctx, q.Rebind(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// collectIn is collect for a query whose one "IN (?)" takes the list;
// an empty list matches nothing.
func collectIn[T any](ctx context.Context, q querier, query string, list []T, row func(*sqlx.Rows) error) error {
	if len(list) == 0 {
		return nil
	}
	query, args, err := sqlx.In(query, list)
	if err != nil {
		return err
	}
	return collect(ctx, q, query, args, row)
}

// groups copies auth_group, matched by name.
func (r *run) groups(ctx context.Context) error {
	c := Count{Table: TableGroups}
	q := r.tx.Rebind
	err := r.stream(ctx, TableGroups, "SELECT id, name FROM auth_group ORDER BY id", "SELECT COUNT(*) FROM auth_group",
		func(rows *sqlx.Rows) error {
			c.Read++
			var (
				id   int64
				name string
				gid  int64
			)
			if err := rows.Scan(&id, &name); err != nil {
				return fmt.Errorf("dotimport: groups: row: %w", err)
			}
			if !database.ValidText(name) {
				c.Skipped++
				r.warn(TableGroups, id, "its name is not valid UTF-8 text")
				return nil
			}
			err := r.tx.GetContext(ctx, &gid, q("SELECT id FROM groups WHERE name = ?"), name)
			switch {
			case isNoRows(err):
				if err := r.tx.QueryRowxContext(ctx, q("INSERT INTO groups (name) VALUES (?) RETURNING id"), name).Scan(&gid); err != nil {
					return fmt.Errorf("dotimport: groups: create: %w", err)
				}
				c.Created++
			case err != nil:
				return fmt.Errorf("dotimport: groups: %w", err)
			default:
				c.Unchanged++
			}
			if _, err := r.tx.ExecContext(ctx, q("INSERT INTO dot_groups (django_id, group_id) VALUES (?, ?)"), id, gid); err != nil {
				return fmt.Errorf("dotimport: groups: %w", err)
			}
			return nil
		})
	if err != nil {
		return err
	}
	r.done(c)
	return nil
}

// memberships copies the user table's groups. A membership removed in
// Django is not removed here.
func (r *run) memberships(ctx context.Context) error {
	c := Count{Table: TableMemberships}
	q := r.tx.Rebind
	t := quote(r.sc.memberships)
	add, err := r.tx.PreparexContext(ctx, q(`INSERT INTO user_groups (user_id, group_id)
		SELECT u.user_id, g.group_id FROM dot_users u, dot_groups g
		WHERE u.django_id = ? AND g.django_id = ? AND u.user_id IS NOT NULL ON CONFLICT DO NOTHING`))
	if err != nil {
		return fmt.Errorf("dotimport: memberships: %w", err)
	}
	defer add.Close()
	known, err := r.tx.PreparexContext(ctx, q(`SELECT COUNT(*) FROM dot_users u, dot_groups g
		WHERE u.django_id = ? AND g.django_id = ? AND u.user_id IS NOT NULL`))
	if err != nil {
		return fmt.Errorf("dotimport: memberships: %w", err)
	}
	defer known.Close()
	err = r.stream(ctx, TableMemberships, "SELECT id, "+quote(r.sc.memberUser)+", group_id FROM "+t+" ORDER BY id", "SELECT COUNT(*) FROM "+t,
		func(rows *sqlx.Rows) error {
			c.Read++
			var id, uid, gid int64
			if err := rows.Scan(&id, &uid, &gid); err != nil {
				return fmt.Errorf("dotimport: memberships: row: %w", err)
			}
			n, err := affected(add.ExecContext(ctx, uid, gid))
			if err != nil {
				return fmt.Errorf("dotimport: memberships: %w", err)
			}
			if n == 1 {
				c.Created++
				return nil
			}
			var k int
			if err := known.GetContext(ctx, &k, uid, gid); err != nil {
				return fmt.Errorf("dotimport: memberships: %w", err)
			}
			if k == 0 {
				c.Skipped++
				r.warn(TableMemberships, id, "its user was not imported")
				return nil
			}
			c.Unchanged++
			return nil
		})
	if err != nil {
		return err
	}
	r.done(c)
	return nil
}
